"""Running the lab: every scenario on its own 127.0.0.1 port, in one asyncio loop.

:class:`Lab` is the async object (``await lab.start()`` / ``await lab.aclose()``);
:func:`running_lab` runs one in a background thread for synchronous code (tests, the
demo, benchmarks). Connections are isolated from each other: each gets its own task, an
I/O timeout and an overall deadline; :mod:`.admission` caps connections in total and per
source and bounds the phases that do no work (handshake, idle), so that a flood is shed
and the next client is still served, whatever the others do.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import socket
import tempfile
import threading
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator, Mapping

from cryptography.hazmat.primitives import serialization

from tlsdoctor.clock import faketime_argv
from tlsdoctor.lab.admission import Admission, Limits
from tlsdoctor.lab.authorities import LabAuthorities
from tlsdoctor.lab.endpoints import Endpoint
from tlsdoctor.lab.fragile import FragileServer, ThreadServer
from tlsdoctor.lab.fragile import fragile as fragile_by_id
from tlsdoctor.lab.http import PlainStream
from tlsdoctor.lab.revocation import CaServices
from tlsdoctor.lab.scenarios import CATALOGUE, SCENARIOS, UNRESOLVABLE_HOST, BuildContext, Scenario, scenario
from tlsdoctor.lab.tls import close_writer
from tlsdoctor.socket_stream import SocketServer, serve

log = logging.getLogger(__name__)

# Variables through which a machine's environment changes a client's trust or route.
_CLIENT_ENV_VARS = frozenset(
    {"SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "http_proxy", "HTTP_PROXY",
     "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY", "no_proxy", "NO_PROXY"}
)

LOOPBACK = "127.0.0.1"
# The kernel's accept queue: asyncio's default of 100 overflows under a flood of connects,
# and a client whose SYN is dropped retries only after a second (then 3, 7...).
_BACKLOG = 1024


@dataclass(frozen=True)
class LabScenario:
    """A scenario as the running lab serves it: where to connect and how to trust it."""

    scenario: Scenario
    url: str
    proxy: str | None
    ca_file: Path
    crl_file: Path | None
    port: int | None
    os_store_file: Path | None = None  # what the machine's own store holds (ClientSetup.os_store)

    @property
    def id(self) -> str:
        return self.scenario.id

    @property
    def code(self) -> str:
        return self.scenario.code

    @property
    def curl_code(self) -> int:
        return self.scenario.curl_code

    def client_env(self, base: Mapping[str, str] | None = None) -> dict[str, str]:
        """The environment for a client program under test: the scenario's trust and route.

        Machines preset trust and proxy variables; a client under test must inherit none
        of them, so every one is cleared before the scenario's own are set.
        """
        env = {k: v for k, v in (os.environ if base is None else base).items() if k not in _CLIENT_ENV_VARS}
        for name in ("SSL_CERT_FILE", "CURL_CA_BUNDLE", "REQUESTS_CA_BUNDLE"):
            env[name] = str(self.ca_file)
        if self.proxy:
            env["https_proxy"] = env["HTTPS_PROXY"] = self.proxy
        return env

    def command(self, argv: list[str]) -> list[str]:
        """``argv`` as the scenario needs it run: under a shifted clock for ``clock-skew``."""
        offset = self.scenario.client.clock_offset
        return faketime_argv(offset, argv) if offset else list(argv)

    def to_dict(self) -> dict[str, object]:
        return {
            **self.scenario.to_dict(),
            "url": self.url,
            "proxy": self.proxy,
            "ca_file": str(self.ca_file),
            "crl_file": str(self.crl_file) if self.crl_file else None,
            "os_store_file": str(self.os_store_file) if self.os_store_file else None,
        }


def with_dependencies(ids: Iterable[str]) -> list[str]:
    """The scenarios to start for ``ids``: a proxy scenario needs the origin behind it."""
    wanted = {scenario(i).id for i in ids}
    wanted |= {SCENARIOS[i].via for i in list(wanted) if SCENARIOS[i].via}  # type: ignore[misc]
    return [s.id for s in CATALOGUE if s.id in wanted]


class Lab:
    """The TLS fault lab. ``only`` limits it to some scenarios (their dependencies come along)."""

    def __init__(
        self,
        only: Iterable[str] | None = None,
        *,
        run_dir: Path | None = None,
        io_timeout: float = 15.0,
        connection_deadline: float = 300.0,
        max_connections: int = 512,
        max_per_source: int = 384,
        handshake_timeout: float = 5.0,
        idle_timeout: float = 15.0,
        fragile: Iterable[str] = (),
    ) -> None:
        self.fragile_ids = [fragile_by_id(i).id for i in fragile]
        # Fragile servers alone when only they are asked for: they are not diagnosis scenarios.
        everything = [] if self.fragile_ids and not only else [s.id for s in CATALOGUE]
        self.requested = [scenario(i).id for i in only] if only else everything
        self._ids = with_dependencies(self.requested)
        self._own_run_dir = run_dir is None
        self.run_dir = Path(tempfile.mkdtemp(prefix="tlsdoctor-lab-")) if run_dir is None else run_dir
        self.io_timeout = io_timeout
        self.connection_deadline = connection_deadline
        self.admission = Admission(Limits(max_connections, max_per_source, handshake_timeout, idle_timeout))
        self._watchdog: asyncio.Task[None] | None = None
        self.fragile: dict[str, FragileServer] = {}
        self._threads: list[ThreadServer] = []  # fragile servers that run outside the loop
        self.connections: Counter[str] = Counter()
        self.scenarios: dict[str, LabScenario] = {}
        self.authorities: LabAuthorities | None = None
        self.services_url = ""
        self._servers: list[SocketServer | asyncio.Server] = []
        self._held: list[socket.socket] = []  # bound, never listening: "connection refused"
        self._tasks: set[asyncio.Task[None]] = set()

    def __getitem__(self, scenario_id: str) -> LabScenario:
        return self.scenarios[scenario(scenario_id).id]

    def __iter__(self) -> Iterator[LabScenario]:
        return (self.scenarios[i] for i in self.requested)

    async def start(self) -> None:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        services_sock = _listening_socket()
        self.services_url = f"http://{LOOPBACK}:{services_sock.getsockname()[1]}"
        self.authorities = LabAuthorities.create(self.services_url)
        trust_files = self.authorities.write_trust_files(self.run_dir)
        unreachable = _refusing_socket()  # held, never listening: CA services that are down
        self._held.append(unreachable)
        ctx = BuildContext(self.authorities, str(trust_files["lab"]),
                           unreachable_url=f"http://{LOOPBACK}:{unreachable.getsockname()[1]}")

        sockets = {}
        for sid in self._ids:
            entry = SCENARIOS[sid]
            if entry.address == "listen":
                sockets[sid] = _listening_socket()
            elif entry.address == "refused":
                sockets[sid] = _refusing_socket()
                self._held.append(sockets[sid])
            elif entry.address == "silent":
                sockets[sid], filler = silent_socket()
                self._held += [sockets[sid], filler]
        endpoints = {sid: SCENARIOS[sid].serve(ctx) for sid in self._ids if SCENARIOS[sid].serve}  # type: ignore[misc]
        self.endpoints: dict[str, Endpoint] = endpoints  # real-peer backends serve the same certificates

        # Revocations happen while endpoints are built; only now is the CRL final.
        crl_file = self.run_dir / "crl-intermediate.pem"
        crl_file.write_bytes(self.authorities.intermediate.crl().public_bytes(serialization.Encoding.PEM))

        for sid in self._ids:
            entry = SCENARIOS[sid]
            port = sockets[sid].getsockname()[1] if sid in sockets else None
            self.scenarios[sid] = LabScenario(
                scenario=entry,
                url=_url_of(entry, port),
                proxy=None,
                ca_file=trust_files[entry.client.trust],
                crl_file=crl_file if entry.client.crl else None,
                port=port,
                os_store_file=trust_files[entry.client.os_store],
            )
        for sid in self._ids:  # proxy scenarios request their origin's URL
            entry, here = SCENARIOS[sid], self.scenarios[sid]
            if entry.via:
                host = UNRESOLVABLE_HOST if entry.address == "unresolvable" else LOOPBACK
                proxy = f"{entry.client.proxy_scheme}://{host}:{here.port or 3128}"
                self.scenarios[sid] = LabScenario(
                    entry, self.scenarios[entry.via].url, proxy, here.ca_file, here.crl_file, here.port,
                    here.os_store_file,
                )

        services = CaServices(self.authorities.served())
        self._servers.append(
            await serve(self._guarded("ca-services", _ServicesEndpoint(services)), services_sock, _BACKLOG)
        )
        for sid, endpoint in endpoints.items():
            self._servers.append(
                await serve(self._guarded(sid, endpoint), sockets[sid], _BACKLOG)
            )
        for fid in self.fragile_ids:
            await self._start_fragile(fid, ctx, trust_files["lab"])
        self._watchdog = asyncio.create_task(self._expire_stale())

    async def _start_fragile(self, fid: str, ctx: BuildContext, ca_file: Path) -> None:
        entry = fragile_by_id(fid)
        built = entry.build(ctx, self.run_dir)
        if isinstance(built, ThreadServer):
            port = await asyncio.get_running_loop().run_in_executor(None, built.start)
            self._threads.append(built)
        else:
            sock = _listening_socket()
            port = sock.getsockname()[1]
            self._servers.append(await serve(self._guarded(fid, built), sock, _BACKLOG))
        self.fragile[fid] = FragileServer(fid, entry.description, f"https://{LOOPBACK}:{port}/", ca_file, port)

    async def _expire_stale(self) -> None:
        """Close connections past their phase's timeout, a few times a second, until aclose()."""
        period = min(0.25, self.admission.limits.handshake_timeout / 4)
        while True:
            await asyncio.sleep(period)
            self.admission.expire()

    def _guarded(self, sid: str, endpoint: Endpoint):  # type: ignore[no-untyped-def]
        async def on_connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            self.connections[sid] += 1
            set_nodelay(writer)
            peer = writer.get_extra_info("peername")
            task = asyncio.current_task()
            tracked = self.admission.admit(peer[0] if peer else "?", task, writer.transport)  # type: ignore[arg-type]
            if tracked is None:
                writer.transport.abort()  # every slot is doing work: shed the newcomer
                return
            if task is not None:
                self._tasks.add(task)  # type: ignore[arg-type]
            try:
                # asyncio.timeout, not wait_for: no second task per connection, whose
                # exception would go unretrieved when aclose() or an eviction cancels us.
                async with asyncio.timeout(self.connection_deadline):
                    await endpoint.handle(reader, writer, self.io_timeout)
            except asyncio.CancelledError:
                # Only aclose() and evictions cancel these tasks. Ending normally matters:
                # asyncio 3.11's stream protocol calls task.exception() on a finished
                # handler task, which raises (and logs a traceback) for a cancelled one.
                pass
            except Exception as exc:  # noqa: BLE001 - one client's mess must not reach the server
                log.debug("lab %s: connection ended: %r", sid, exc)
            finally:
                self.admission.release(tracked)
                if task is not None:
                    self._tasks.discard(task)  # type: ignore[arg-type]
                if not tracked.evicted:  # an evicted one was aborted already
                    await close_writer(writer, 1.0)

        return on_connection

    async def aclose(self) -> None:
        if self._watchdog is not None:
            self._watchdog.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watchdog
            self._watchdog = None
        for server in self._servers:
            server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for server in self._servers:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(server.wait_closed(), 2.0)
        for thread_server in self._threads:
            await asyncio.get_running_loop().run_in_executor(None, thread_server.stop)
        self._threads.clear()
        for sock in self._held:
            sock.close()
        self._servers.clear()
        self._held.clear()
        if self._own_run_dir:
            shutil.rmtree(self.run_dir, ignore_errors=True)

    async def __aenter__(self) -> "Lab":
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


@dataclass
class _ServicesEndpoint:
    services: CaServices

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, timeout: float) -> None:
        await self.services.serve(PlainStream(reader, writer, timeout))


def _url_of(entry: Scenario, port: int | None) -> str:
    if entry.address == "unresolvable" and not entry.via:
        return f"https://{UNRESOLVABLE_HOST}/"
    return f"https://{LOOPBACK}:{port}/"


def set_nodelay(writer: asyncio.StreamWriter) -> None:
    """Disable Nagle's algorithm on an accepted connection.

    asyncio sets TCP_NODELAY itself only on sockets whose ``proto`` is IPPROTO_TCP, and
    sockets made with protocol 0 (as ours and most are) do not qualify. Without it, a small
    TLS record written after another unacknowledged one (a response after the session
    tickets) waits for the client's delayed ACK: ~40 ms per request on Linux loopback
    (issue 9: 47 ms per pycurl request instead of 2.6 ms).
    """
    sock = writer.get_extra_info("socket")
    if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
        with contextlib.suppress(OSError):  # the peer may already be gone
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def _listening_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((LOOPBACK, 0))
    sock.listen(_BACKLOG)
    sock.setblocking(False)
    return sock


def _refusing_socket() -> socket.socket:
    """A port that is ours but refuses: bound (so nobody else takes it), never listening."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind((LOOPBACK, 0))
    return sock


def silent_socket(host: str = LOOPBACK, port: int = 0) -> tuple[socket.socket, socket.socket]:
    """A port where every SYN goes unanswered: listening with a backlog of 0, its one queued
    connection taken by the lab and never accepted. Linux drops a SYN to a listener whose accept
    queue is full (unless net.ipv4.tcp_abort_on_overflow is set), so a client's connect times
    out as behind a firewall that drops packets, without any privilege or packet filter.
    Returns (listener, filler): both held until the lab closes (the client then sees a reset)."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind((host, port))
    listener.listen(0)
    filler = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    filler.settimeout(2.0)
    filler.connect(listener.getsockname())  # the queue's one place: from now on, SYNs are dropped
    return listener, filler


class LabThread:
    """A :class:`Lab` running in a background thread with its own event loop."""

    def __init__(self, lab: Lab, start_timeout: float = 20.0) -> None:
        self.lab = lab
        self._start_timeout = start_timeout
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="tlsdoctor-lab", daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._main())
        self._loop.close()

    async def _main(self) -> None:
        self._stop = asyncio.Event()
        try:
            await self.lab.start()
        except BaseException as exc:  # reported to the starting thread
            self._error = exc
            self._ready.set()
            await self.lab.aclose()
            return
        self._ready.set()
        await self._stop.wait()
        await self.lab.aclose()

    def start(self) -> Lab:
        self._thread.start()
        if not self._ready.wait(self._start_timeout):
            raise TimeoutError("the lab did not start in time")
        if self._error is not None:
            raise RuntimeError(f"the lab failed to start: {self._error}") from self._error
        return self.lab

    def stop(self) -> None:
        if self._thread.is_alive() and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout=10)


@contextlib.contextmanager
def running_lab(only: Iterable[str] | None = None, **options: object) -> Iterator[Lab]:
    """``with running_lab() as lab: lab["expired"].url`` — the lab, in a thread."""
    runner = LabThread(Lab(only, **options))  # type: ignore[arg-type]
    try:
        yield runner.start()
    finally:
        runner.stop()
