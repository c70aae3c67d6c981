"""Real servers from Debian packages, started on loopback for torture: lighttpd, haproxy, h2o.

Each serves one small text body over TLS with a certificate from the lab's intermediate
(so the lab's CA file verifies it), on a free 127.0.0.1 port, with everything it writes
in a temporary directory. Process handling is the lab's (:mod:`tlsdoctor.lab.process`: own
session, log tail in every error, stopped for sure). nginx has its own backend in
:mod:`tlsdoctor.lab.nginx`.
"""

from __future__ import annotations

import contextlib
import re
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

from tlsdoctor.lab import Lab
from tlsdoctor.lab.process import PeerProcess, RealPeerUnavailable, free_ports, port_accepts

BODY = "torture target\n"


@dataclass(frozen=True)
class RealServer:
    name: str
    version: str
    url: str
    ca_file: Path


@dataclass(frozen=True)
class _Files:
    run: Path
    chain: Path
    key: Path
    combined: Path  # chain then key, for servers that want one file
    www: Path


def _lighttpd(files: _Files, port: int) -> tuple[list[str], str]:
    conf = files.run / "lighttpd.conf"
    conf.write_text(
        f'server.document-root = "{files.www}"\n'
        f'server.bind = "127.0.0.1"\nserver.port = {port}\n'
        f'server.errorlog = "{files.run}/error.log"\n'
        'server.modules = ("mod_openssl")\n'
        'ssl.engine = "enable"\n'
        f'ssl.pemfile = "{files.chain}"\nssl.privkey = "{files.key}"\n'
        'index-file.names = ("index.html")\n'
        'mimetype.assign = (".html" => "text/plain")\n'
    )
    return ["/usr/sbin/lighttpd", "-D", "-f", str(conf)], "lighttpd"


def _haproxy(files: _Files, port: int) -> tuple[list[str], str]:
    conf = files.run / "haproxy.cfg"
    conf.write_text(
        "global\n  maxconn 1024\n"
        "defaults\n  mode http\n  timeout connect 5s\n  timeout client 30s\n  timeout server 30s\n"
        f"frontend torture\n  bind 127.0.0.1:{port} ssl crt {files.combined} alpn h2,http/1.1\n"
        f'  http-request return status 200 content-type "text/plain" string "{BODY.strip()}"\n'
    )
    return ["/usr/sbin/haproxy", "-db", "-f", str(conf)], "haproxy"


def _h2o(files: _Files, port: int) -> tuple[list[str], str]:
    conf = files.run / "h2o.conf"
    conf.write_text(
        "user: root\n"
        f"error-log: {files.run}/error.log\n"
        f"pid-file: {files.run}/h2o.pid\n"
        "listen:\n  host: 127.0.0.1\n"
        f"  port: {port}\n  ssl:\n    certificate-file: {files.chain}\n    key-file: {files.key}\n"
        f"hosts:\n  default:\n    paths:\n      /:\n        file.dir: {files.www}\n"
    )
    return ["/usr/bin/h2o", "-c", str(conf)], "h2o"


SERVERS: dict[str, Callable[[_Files, int], tuple[list[str], str]]] = {
    "lighttpd": _lighttpd, "haproxy": _haproxy, "h2o": _h2o,
}


def version_of(argv0: str) -> str:
    flag = "-v"
    done = subprocess.run([argv0, flag], capture_output=True, text=True, timeout=10, check=False)
    match = re.search(r"(\d+\.\d+\.\d+\S*)", done.stdout + done.stderr)
    return match.group(1) if match else "?"


@contextlib.contextmanager
def real_server(lab: Lab, name: str) -> Iterator[RealServer]:
    """``name`` (lighttpd, haproxy, h2o) serving an ``ok``-like site; RealPeerUnavailable if not installed."""
    make = SERVERS[name]
    with tempfile.TemporaryDirectory(prefix=f"torture-{name}-") as tmp:
        run = Path(tmp)
        cert = lab.endpoints["ok"].tls.certificate  # type: ignore[attr-defined]
        chain, key = cert.write(run, "site")
        combined = run / "site.combined.pem"
        combined.write_bytes(chain.read_bytes() + key.read_bytes())
        www = run / "www"
        www.mkdir()
        (www / "index.html").write_text(BODY)
        files = _Files(run, chain, key, combined, www)
        (port,) = free_ports(1)
        argv, program = make(files, port)
        if not Path(argv[0]).exists():
            raise RealPeerUnavailable(f"{program} is not installed (scripts/install.sh installs it)")
        process = PeerProcess(program, argv, run / "server.log")
        process.start()
        try:
            process.wait_until(lambda: port_accepts(port, 0.5), 10.0, f"port {port} accepted")
            yield RealServer(name, version_of(argv[0]), f"https://127.0.0.1:{port}/", lab["ok"].ca_file)
        finally:
            process.stop()
