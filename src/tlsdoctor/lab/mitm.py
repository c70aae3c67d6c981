"""The lab's intercepting-proxy scenarios, served by a real mitmproxy (``mitmdump``).

The lab's own :class:`~tlsdoctor.lab.proxy.ConnectProxy` imitates TLS-inspecting
products; mitmproxy *is* one. It runs here as an external program (never imported: it
has its own virtualenv and its own pins) with the lab's interception CA as its CA, so it
re-signs every site exactly as the lab's interceptor does::

    with running_lab() as lab, MitmProxy(lab) as mitm:
        route = mitm.route("proxy-bad-gateway")
        route.url, route.proxy, route.ca_file   # curl it: code 0, HTTP 502

What mitmproxy 11 does, checked against the lab's origins:

- CONNECT to an origin whose certificate verifies (against ``ssl_verify_upstream_
  trusted_ca``, the lab root): ``200 Connection established``, then the client meets a
  leaf for the target minted by the interception CA. A client that trusts only the lab
  root fails with curl 60 / X509 20; one that also trusts the interception CA gets the
  origin's answer (HTTP/2 if it offers h2).
- CONNECT to an origin whose certificate does not verify (the ``expired`` origin): the
  tunnel is still established and the client's TLS still completes; mitmproxy then answers
  the request itself with ``502 Bad Gateway`` inside the intercepted TLS, its body naming
  the reason ("Certificate verify failed: certificate has expired"), and logs "Server TLS
  handshake failed". This is the field's "HTTP 502 only through the proxy".
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import tempfile
from dataclasses import dataclass
from pathlib import Path

from tlsdoctor.lab.process import PeerProcess, find_program, port_accepts
from tlsdoctor.lab.runner import Lab
from tlsdoctor.lab.scenarios import Scenario, scenario

LOOPBACK = "127.0.0.1"

MITMDUMP_ENV = "TLSDOCTOR_MITMDUMP"  # read by tlsdoctor.tools.find_tool
_MITMDUMP_FALLBACKS = (Path("/opt/mitmproxy-venv/bin/mitmdump"),)

# The environment scenarios mitmproxy serves: both are the lab's "_interceptor" proxy.
MITM_SCENARIOS: tuple[str, ...] = ("intercepting-proxy", "proxy-bad-gateway")

# mitmproxy's startup line; with --listen-port 0 it is the only way to learn the port,
# and it is also proof that *this* process bound it (see MitmProxy.start).
_LISTENING = re.compile(r"proxy listening at (?:\[[^\]]*\]|[0-9.]+):(\d+)")

# An addon mitmdump loads from the confdir. The lab's rule is that it never becomes a path
# off the machine; mitmproxy would tunnel anywhere, so non-loopback targets get a 403, as
# the lab's own ConnectProxy answers them. It is text for mitmdump's interpreter to run:
# our code never imports mitmproxy.
_LOOPBACK_ONLY_ADDON = '''\
"""Written by tlsdoctor.lab.mitm: tunnel and proxy to loopback only."""
import ipaddress

from mitmproxy import http


def _is_loopback(host):
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return host == "localhost"


def _refuse(flow):
    flow.response = http.Response.make(
        403, b"the tlsdoctor lab only proxies to loopback\\n", {"content-type": "text/plain"}
    )


def http_connect(flow):
    if not _is_loopback(flow.request.host):
        _refuse(flow)


def requestheaders(flow):
    if not _is_loopback(flow.request.host):
        _refuse(flow)
'''


def find_mitmdump() -> Path:
    """``$TLSDOCTOR_MITMDUMP``, beside our interpreter (``scripts/install.sh`` links
    ``.venv/bin/mitmdump`` there), ``PATH``, then ``/opt/mitmproxy-venv``."""
    return find_program("mitmdump", _MITMDUMP_FALLBACKS)


@dataclass(frozen=True)
class MitmRoute:
    """A proxy scenario through mitmproxy: the URL to ask for, via which proxy, trusting what."""

    scenario: Scenario
    url: str  # the origin behind the proxy (the scenario's ``via``)
    proxy: str
    ca_file: Path

    @property
    def id(self) -> str:
        return self.scenario.id


class MitmProxy:
    """A real ``mitmdump`` re-signing with the lab's interception CA; a context manager.

    It verifies origins against the lab root, as the lab's interceptor does, so the lab's
    ``expired`` origin becomes a 502 and its ``ok`` origin goes through.
    """

    def __init__(
        self,
        lab: Lab,
        *,
        binary: Path | None = None,
        start_timeout: float = 20.0,
        stop_timeout: float = 5.0,
    ) -> None:
        if lab.authorities is None:
            raise RuntimeError("start the lab before building a mitmproxy from it")
        self.lab = lab
        self.binary = binary or find_mitmdump()
        self.start_timeout = start_timeout
        self.stop_timeout = stop_timeout
        self.run_dir: Path | None = None
        self.trust_files: dict[str, Path] = {}
        self.port: int | None = None
        self.process: PeerProcess | None = None

    @property
    def proxy_url(self) -> str:
        if self.port is None:
            raise RuntimeError("mitmproxy is not running")
        return f"http://{LOOPBACK}:{self.port}"

    def route(self, scenario_id: str, origin_url: str | None = None) -> MitmRoute:
        """How a client meets ``scenario_id`` through mitmproxy.

        The origin is the lab's (the scenario's ``via``) unless ``origin_url`` says
        otherwise, e.g. an nginx site from :mod:`.nginx`.
        """
        entry = scenario(scenario_id)
        if entry.id not in MITM_SCENARIOS or entry.via is None:
            raise ValueError(f"mitmproxy does not serve scenario {entry.id!r}; it serves {', '.join(MITM_SCENARIOS)}")
        if origin_url is None:
            if entry.via not in self.lab.scenarios:
                raise KeyError(f"the lab does not run {entry.via!r}, the origin behind {entry.id!r}")
            origin_url = self.lab.scenarios[entry.via].url
        return MitmRoute(entry, origin_url, self.proxy_url, self.trust_files[entry.client.trust])

    def __enter__(self) -> "MitmProxy":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> "MitmProxy":
        """Write the confdir, start mitmdump, and return once it listens (it takes ~1-2 s).

        On any failure (Ctrl-C included) mitmdump is stopped and its files removed before
        the error propagates: ``__exit__`` does not run when ``__enter__`` raises.
        """
        try:
            return self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self) -> "MitmProxy":
        authorities = self.lab.authorities
        assert authorities is not None
        self.run_dir = Path(tempfile.mkdtemp(prefix="mitmproxy-", dir=self.lab.run_dir))
        self.trust_files = authorities.write_trust_files(self.run_dir / "trust")
        confdir = self.run_dir / "confdir"
        confdir.mkdir()
        # mitmproxy reads its CA as key and certificate in one PEM file; key first, as its
        # own generated file has it. Leaves it mints are signed by this key.
        ca_file = confdir / "mitmproxy-ca.pem"
        ca_file.write_bytes(authorities.interception.key.pem() + authorities.interception.cert_pem)
        ca_file.chmod(0o600)
        addon = confdir / "tlsdoctor_loopback_only.py"
        addon.write_text(_LOOPBACK_ONLY_ADDON)
        log = self.run_dir / "mitmdump.log"
        argv = [
            self.binary,
            "--listen-host", LOOPBACK,
            # Port 0: the kernel picks a free port and mitmdump prints it. No window in
            # which someone else could take a port we picked.
            "--listen-port", "0",
            "--set", f"confdir={confdir}",
            "--set", f"ssl_verify_upstream_trusted_ca={self.trust_files['lab']}",
            "--scripts", str(addon),
            # Quiet: no flow dumps; "info" only because the listening line is at that level.
            "--set", "flow_detail=0",
            "--set", "termlog_verbosity=info",
        ]
        # Unbuffered, or the listening line could sit in a pipe buffer until exit.
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.process = PeerProcess("mitmdump", argv, log, env)
        self.process.start()
        self.process.wait_until(self._learn_port, self.start_timeout, "it printed its listening port")
        port = self.port
        assert port is not None
        self.process.wait_until(lambda: port_accepts(port, 0.5), self.start_timeout, f"port {port} accepted")
        return self

    def _learn_port(self) -> bool:
        assert self.process is not None
        match = _LISTENING.search(self.process.log_tail(20_000))
        if match:
            self.port = int(match[1])
        return match is not None

    def stop(self) -> None:
        """SIGTERM (mitmdump shuts down cleanly on it), then SIGKILL; bounded waits."""
        if self.process is not None:
            self.process.stop(signal.SIGTERM, self.stop_timeout)
            self.process = None
        if self.run_dir is not None:
            shutil.rmtree(self.run_dir, ignore_errors=True)  # it holds the CA's private key
            self.run_dir = None
        self.port = None
