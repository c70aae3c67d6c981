"""The lab's certificate scenarios, served by a real nginx.

The lab's own TLS server is pyOpenSSL driven by asyncio (:mod:`.tls`). A fault that only
*our* server produces would prove little, so this module hands the scenarios' certificates
(from the same CAs, with the same defects) to nginx, the server most field reports are
about, and lets tests check that real clients meet the same fault there::

    with running_lab() as lab, NginxBackend(lab) as nginx:
        site = nginx["expired"]
        site.url, site.ca_file          # curl it: code 60, verify result 10

One nginx master (one worker) serves every certificate scenario, each on its own
127.0.0.1 port; everything it writes (configuration, certificates, pid file, logs, temp
directories) lives in a run directory under the lab's. Only certificate faults are served
here: protocol faults (alerts, resets, stalls) are not something nginx can be configured
to commit.

Starting, waiting for and stopping the nginx process is :mod:`.process`'s (shared with
:mod:`.mitm`, the other real peer); :class:`RealPeerUnavailable` and :class:`RealPeerError`
stay importable from here.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator, Mapping, Sequence

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from tlsdoctor.lab.authorities import LabAuthorities
from tlsdoctor.lab.endpoints import Endpoint, HttpsOrigin
from tlsdoctor.lab.pki import CA
from tlsdoctor.lab.process import (
    LOOPBACK, PeerProcess, RealPeerError, RealPeerUnavailable, find_program, free_ports, port_accepts,
)
from tlsdoctor.lab.runner import Lab
from tlsdoctor.lab.scenarios import CATALOGUE, BuildContext, Category, Scenario, scenario
from tlsdoctor.lab.tls import TlsServerConfig

__all__ = [
    "NGINX_SCENARIOS", "NginxBackend", "NginxSite", "RealPeerError", "RealPeerUnavailable", "SiteFiles",
    "UnsupportedScenario", "find_nginx", "nginx_version", "tls_directives",
]

NGINX_ENV = "TLSDOCTOR_NGINX"  # read by tlsdoctor.tools.find_tool, named here for the docs
# Debian and Ubuntu install nginx in /usr/sbin, which is not on a normal user's PATH.
_NGINX_FALLBACKS = (Path("/usr/sbin/nginx"), Path("/usr/local/nginx/sbin/nginx"))

# The scenarios nginx serves: every certificate fault. Each must build to a plain
# HttpsOrigin, which NginxBackend checks when it builds them (UnsupportedScenario).
NGINX_SCENARIOS: tuple[str, ...] = tuple(s.id for s in CATALOGUE if s.category is Category.CERTIFICATE)


# -- errors -----------------------------------------------------------------------------


class UnsupportedScenario(ValueError):
    """The scenario's server cannot be expressed in the real peer's configuration."""


# -- nginx --------------------------------------------------------------------------------


def find_nginx() -> Path:
    """The nginx binary: ``$TLSDOCTOR_NGINX``, beside our interpreter, ``PATH``, then ``/usr/sbin/nginx``."""
    return find_program("nginx", _NGINX_FALLBACKS)


def nginx_version(binary: Path, timeout: float = 5.0) -> tuple[int, int, int] | None:
    """The version ``nginx -v`` reports (on stderr), or None if it says nothing parsable."""
    try:
        done = subprocess.run([str(binary), "-v"], capture_output=True, timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise RealPeerUnavailable(f"{binary} -v failed: {exc}") from exc
    match = re.search(rb"nginx/(\d+)\.(\d+)\.(\d+)", done.stderr + done.stdout)
    return (int(match[1]), int(match[2]), int(match[3])) if match else None


# nginx 1.25.1 replaced "listen ... http2" by the "http2 on" directive; the old form still
# works there (with a deprecation warning), so it is also the fallback for unknown versions.
_HTTP2_DIRECTIVE_SINCE = (1, 25, 1)

_PROTOCOLS = {"1.0": "TLSv1", "1.1": "TLSv1.1", "1.2": "TLSv1.2", "1.3": "TLSv1.3"}


def _quoted(value: str | Path) -> str:
    """A value as an nginx string literal. ``$`` would turn a path into a variable (and
    ``ssl_certificate`` into a per-handshake load), so it is refused rather than escaped."""
    text = str(value)
    if any(c in text for c in '"\\$\n\r'):
        raise ValueError(f"refusing to put {text!r} in an nginx configuration")
    return f'"{text}"'


@dataclass(frozen=True)
class SiteFiles:
    """What one nginx server block loads from disk."""

    chain: Path  # leaf first, then the intermediates the server sends
    key: Path
    staple: Path | None = None  # DER OCSP response (ssl_stapling_file)


def tls_directives(tls: TlsServerConfig, files: SiteFiles) -> list[str]:
    """The nginx ``server`` directives that reproduce a lab :class:`TlsServerConfig`.

    Pure, so the translation is testable without nginx. Raises :class:`UnsupportedScenario`
    for what nginx cannot be told to do (an ALPN list other than h2 and/or http/1.1).
    """
    versions = list(_PROTOCOLS)
    wanted = versions[versions.index(tls.min_version) : versions.index(tls.max_version) + 1]
    ciphers = tls.cipher_list or "DEFAULT"  # the lab's server default, not nginx's "HIGH:!aNULL:!MD5"
    if tls.security_level is not None:
        # nginx applies ssl_ciphers before it loads the certificate, so @SECLEVEL=0 here is
        # what lets it load a 1024-bit key or a SHA-1-signed leaf at all (checked on 1.22).
        ciphers += f":@SECLEVEL={tls.security_level}"
    lines = [
        f"ssl_certificate {_quoted(files.chain)};",
        f"ssl_certificate_key {_quoted(files.key)};",
        f"ssl_protocols {' '.join(_PROTOCOLS[v] for v in wanted)};",
        f"ssl_ciphers {_quoted(ciphers)};",
        # As the lab's server: no tickets, no cache. Every handshake is a full one, which
        # is what the benchmark compares and what a diagnosing client should meet.
        "ssl_session_tickets off;",
        "ssl_session_cache off;",
    ]
    if tls.tls13_ciphersuites:
        lines.append(f"ssl_conf_command Ciphersuites {_quoted(tls.tls13_ciphersuites)};")
    if files.staple is not None:
        # A fixed response from a file: no resolver, no fetch from the responder, and nginx
        # staples it even though it says "revoked" (it does not judge what it staples).
        lines += ["ssl_stapling on;", f"ssl_stapling_file {_quoted(files.staple)};"]
    if set(tls.alpn) - {"h2", "http/1.1"}:
        raise UnsupportedScenario(f"nginx cannot offer ALPN {tls.alpn!r}")
    return lines


@dataclass(frozen=True)
class NginxSite:
    """One scenario as nginx serves it: where to connect, and how to set a client up."""

    scenario: Scenario
    port: int
    ca_file: Path  # the CA file the scenario's client uses (ClientSetup.trust)
    crl_file: Path | None  # the issuer's CRL, for scenarios whose client checks one
    files: SiteFiles

    @property
    def id(self) -> str:
        return self.scenario.id

    @property
    def url(self) -> str:
        return f"https://{LOOPBACK}:{self.port}/"


@dataclass(frozen=True)
class _Plan:
    """A site before it has a port: the scenario, its files, its TLS directives."""

    scenario: Scenario
    files: SiteFiles
    directives: tuple[str, ...]
    http2: bool
    ca_file: Path
    crl_file: Path | None


class NginxBackend:
    """A real nginx serving the lab's certificate scenarios; a context manager.

    ``lab`` must be started: its authorities issue nginx's certificates. If the lab keeps
    the endpoints it built (``lab.endpoints``), nginx serves those very certificates;
    otherwise each scenario is built again under the same CAs, which a client trusting the
    lab root cannot tell apart. ``only`` limits the scenarios (default: all of
    :data:`NGINX_SCENARIOS`).
    """

    def __init__(
        self,
        lab: Lab,
        only: Iterable[str] | None = None,
        *,
        binary: Path | None = None,
        start_timeout: float = 10.0,
        stop_timeout: float = 5.0,
        attempts: int = 3,
    ) -> None:
        if lab.authorities is None:
            raise RuntimeError("start the lab before building an nginx backend from it")
        self.lab = lab
        self.binary = binary or find_nginx()
        self.ids = [scenario(i).id for i in only] if only is not None else list(NGINX_SCENARIOS)
        self.start_timeout = start_timeout
        self.stop_timeout = stop_timeout
        self.attempts = attempts
        self.sites: dict[str, NginxSite] = {}
        self.run_dir: Path | None = None
        self.process: PeerProcess | None = None

    def __getitem__(self, scenario_id: str) -> NginxSite:
        return self.sites[scenario(scenario_id).id]

    def __iter__(self) -> Iterator[NginxSite]:
        return iter(self.sites.values())

    def __enter__(self) -> "NginxBackend":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- lifecycle --------------------------------------------------------------------

    def start(self) -> "NginxBackend":
        """Write everything, start nginx, and return once every site accepts connections.

        On any failure (Ctrl-C included) nginx is stopped and the run directory removed
        before the error propagates: ``__exit__`` does not run when ``__enter__`` raises.
        """
        try:
            return self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self) -> "NginxBackend":
        version = nginx_version(self.binary)
        self.run_dir = Path(tempfile.mkdtemp(prefix="nginx-", dir=self.lab.run_dir))
        plans = self._plans(self.run_dir)
        (self.run_dir / "temp").mkdir()  # nginx creates the temp paths, not their parent
        http2_directive = version is not None and version >= _HTTP2_DIRECTIVE_SINCE
        last: RealPeerError | None = None
        for attempt in range(self.attempts):
            ports = free_ports(len(plans))
            # One log per attempt, shared by nginx's stderr, -e and error_log (all append):
            # a failed attempt's "Address already in use" must not be read as the next one's.
            log = self.run_dir / f"nginx-{attempt}.log"
            conf = self.run_dir / "nginx.conf"
            conf.write_text(_render_conf(self.run_dir, plans, ports, error_log=log, http2_directive=http2_directive))
            process = PeerProcess(
                "nginx",
                # -e: the error log before the configuration is read (Debian's default is
                # stderr, others write /var/log/nginx/error.log, which we must not touch).
                [self.binary, "-p", self.run_dir, "-c", conf, "-e", log],
                log,
            )
            process.start()
            self.process = process
            try:
                self._wait_ready(process, ports)
            except RealPeerError as exc:
                process.stop(signal.SIGQUIT, self.stop_timeout)
                self.process = None
                last = exc
                if "Address already in use" in process.log_tail(20_000):
                    continue  # someone took a port between free_ports() and nginx's bind()
                raise
            self.sites = {
                plan.scenario.id: NginxSite(plan.scenario, port, plan.ca_file, plan.crl_file, plan.files)
                for plan, port in zip(plans, ports)
            }
            return self
        raise RealPeerError(f"nginx could not bind its ports in {self.attempts} attempts") from last

    def _wait_ready(self, process: PeerProcess, ports: Sequence[int]) -> None:
        assert self.run_dir is not None
        pid_file = self.run_dir / "nginx.pid"
        deadline = time.monotonic() + self.start_timeout

        def pid_written() -> bool:
            # nginx writes its pid file only after it bound every listen socket. So a port
            # that accepts after this is ours, not a stranger's that nginx failed to bind.
            try:
                return pid_file.read_text().strip() == str(process.pid)
            except OSError:
                return False

        process.wait_until(pid_written, self.start_timeout, "it wrote its pid file")
        for port in ports:
            remaining = max(0.1, deadline - time.monotonic())
            process.wait_until(lambda: port_accepts(port, 0.5), remaining, f"port {port} accepted")

    def stop(self) -> None:
        """Graceful stop (SIGQUIT lets workers finish), then SIGTERM, then SIGKILL.

        The run directory goes too: it holds private keys, and the lab's directory, which
        contains it, may be one the caller keeps.
        """
        if self.process is not None:
            self.process.stop(signal.SIGQUIT, self.stop_timeout)
            self.process = None
        if self.run_dir is not None:
            shutil.rmtree(self.run_dir, ignore_errors=True)
            self.run_dir = None
        self.sites = {}

    # -- what nginx serves --------------------------------------------------------------

    def _plans(self, run_dir: Path) -> list[_Plan]:
        authorities = self.lab.authorities
        assert authorities is not None
        trust = authorities.write_trust_files(run_dir / "trust")
        endpoints = self._endpoints(authorities, str(trust["lab"]))
        # Revocations happen while endpoints are built: only now is each CA's CRL final.
        crls: dict[str, Path] = {}
        plans = []
        for sid, endpoint in endpoints.items():
            entry = scenario(sid)
            tls = _plain_origin_tls(sid, endpoint)
            files = _write_site_files(run_dir / "sites", sid, tls)
            crl_file = None
            if entry.client.crl:
                issuer = _issuer_of(authorities, tls.certificate.cert)
                if issuer.name not in crls:
                    crls[issuer.name] = _write_crl(run_dir / "crl", issuer)
                crl_file = crls[issuer.name]
            plans.append(
                _Plan(
                    entry,
                    files,
                    tuple(tls_directives(tls, files)),
                    "h2" in tls.alpn,
                    trust[entry.client.trust],
                    crl_file,
                )
            )
        return plans

    def _endpoints(self, authorities: LabAuthorities, origin_trust_file: str) -> dict[str, Endpoint]:
        kept: Mapping[str, Endpoint] = getattr(self.lab, "endpoints", None) or {}
        ctx = BuildContext(authorities, origin_trust_file)
        built: dict[str, Endpoint] = {}
        for sid in self.ids:
            if sid in kept:
                built[sid] = kept[sid]
                continue
            serve = scenario(sid).serve
            if serve is None:
                raise UnsupportedScenario(f"scenario {sid!r} has no server")
            built[sid] = serve(ctx)
        return built


def _plain_origin_tls(sid: str, endpoint: Endpoint) -> TlsServerConfig:
    """The TLS configuration of an endpoint that nginx can stand in for, or an error."""
    if not isinstance(endpoint, HttpsOrigin):
        raise UnsupportedScenario(f"scenario {sid!r} is served by {type(endpoint).__name__}, not an HTTPS origin")
    if endpoint.h2_broken or not endpoint.close_notify:
        raise UnsupportedScenario(f"scenario {sid!r} misbehaves at the HTTP layer, which nginx does not")
    return endpoint.tls


def _write_site_files(directory: Path, sid: str, tls: TlsServerConfig) -> SiteFiles:
    chain, key = tls.certificate.write(directory, sid, include_chain=tls.send_chain)
    staple = None
    if tls.ocsp_staple is not None:
        staple = directory / f"{sid}.ocsp.der"
        staple.write_bytes(tls.ocsp_staple())
    return SiteFiles(chain, key, staple)


def _issuer_of(authorities: LabAuthorities, cert: x509.Certificate) -> CA:
    for ca in vars(authorities).values():
        if isinstance(ca, CA) and ca.cert.subject == cert.issuer:
            return ca
    raise UnsupportedScenario(f"no lab authority issued {cert.subject.rfc4514_string()}")


def _write_crl(directory: Path, ca: CA) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{re.sub(r'[^A-Za-z0-9]+', '-', ca.name).strip('-').lower()}.pem"
    path.write_bytes(ca.crl().public_bytes(serialization.Encoding.PEM))
    return path


def _render_conf(
    run_dir: Path, plans: Sequence[_Plan], ports: Sequence[int], *, error_log: Path, http2_directive: bool
) -> str:
    """The whole nginx.conf: every path nginx may write is inside ``run_dir``."""
    temp = run_dir / "temp"
    # When started as root, nginx's workers would switch to "nobody", who cannot read
    # our 0700 run directory; the lab is loopback-only, so root workers are acceptable.
    user = "user root;\n" if os.geteuid() == 0 else ""
    servers = []
    for plan, port in zip(plans, ports):
        listen = f"listen {LOOPBACK}:{port} ssl{' http2' if plan.http2 and not http2_directive else ''};"
        body = [listen, *(["http2 on;"] if plan.http2 and http2_directive else []), *plan.directives]
        body += [
            f"add_header X-Tlsdoctor-Scenario {_quoted(plan.scenario.id)} always;",
            'add_header Cache-Control "no-store" always;',
            'location / { return 200 "ok\\n"; }',  # the lab's Reply body
        ]
        servers.append("    server {\n" + "".join(f"        {line}\n" for line in body) + "    }\n")
    return (
        "# Written by tlsdoctor.lab.nginx: one server per lab certificate scenario.\n"
        f"{user}"
        "daemon off;\n"
        "master_process on;\n"
        "worker_processes 1;\n"
        f"pid {_quoted(run_dir / 'nginx.pid')};\n"
        f"lock_file {_quoted(run_dir / 'nginx.lock')};\n"
        f"error_log {_quoted(error_log)} notice;\n"
        "events {\n    worker_connections 1024;\n}\n"
        "http {\n"
        f"    access_log {_quoted(run_dir / 'access.log')};\n"
        f"    client_body_temp_path {_quoted(temp / 'body')};\n"
        f"    proxy_temp_path {_quoted(temp / 'proxy')};\n"
        f"    fastcgi_temp_path {_quoted(temp / 'fastcgi')};\n"
        f"    uwsgi_temp_path {_quoted(temp / 'uwsgi')};\n"
        f"    scgi_temp_path {_quoted(temp / 'scgi')};\n"
        '    default_type "text/plain; charset=utf-8";\n'
        "    server_tokens off;\n"
        + "".join(servers)
        + "}\n"
    )
