"""Running an external server for the lab: start it, wait until it is ready, stop and reap it.

The lab's real peers (nginx, mitmdump; lighttpd, haproxy and h2o in torture's tests) are
programs we start and must never leave behind. This module is the one way to do that:
find the program (:func:`find_program`), pick loopback ports for it (:func:`free_ports`),
run it in a session of its own with its output in a log file (:class:`PeerProcess`), wait
for readiness with a bound in time and in count (:meth:`PeerProcess.wait_until`, typically
with :func:`port_accepts`), and stop it — politely, then by force, to its whole process
group — reaping it so no zombie or orphan worker is left. Every error quotes the tail of
the peer's log: a peer that fails to start says why there.

What to run and how to configure it is the caller's business (:mod:`.nginx`, :mod:`.mitm`).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, Mapping, Sequence

from tlsdoctor.tools import ToolMissing, find_tool

LOOPBACK = "127.0.0.1"


class RealPeerUnavailable(ToolMissing):
    """The real peer's program is not installed here: skip, do not fail (unless CI needs it)."""


class RealPeerError(RuntimeError):
    """The real peer is installed but did not start, did not listen, or died."""


# -- running an external peer ------------------------------------------------------------


def find_program(name: str, fallbacks: Sequence[Path] = ()) -> Path:
    """Where the peer's program is, by the project's one finder (:func:`tlsdoctor.tools.find_tool`:
    ``$TLSDOCTOR_NAME``, beside our interpreter, ``PATH``), then ``fallbacks``.

    One rule on top: an environment variable that points at nothing is an error, not a
    reason to look elsewhere. Whoever set it wants *that* binary; quietly running another
    would hide it (and would make "binary missing" impossible to simulate in a test).
    """
    env_var = f"TLSDOCTOR_{name.upper()}"
    explicit = os.environ.get(env_var)
    if explicit and not (Path(explicit).is_file() and os.access(explicit, os.X_OK)):
        raise RealPeerUnavailable(f"{env_var}={explicit} is not an executable file")
    found = find_tool(name, extra=tuple(str(p) for p in fallbacks))
    if found is None:
        raise RealPeerUnavailable(
            f"{name} is not installed (not beside {sys.executable}, not on PATH, not in "
            f"{', '.join(map(str, fallbacks)) or 'any usual place'}; set {env_var} to point at it)"
        )
    return found


def free_ports(count: int) -> list[int]:
    """``count`` distinct ports the kernel says are free right now.

    They are bound all at once (so they differ) and released for the peer to bind. Someone
    else may take one in between: callers detect that and retry with fresh ports.
    """
    held: list[socket.socket] = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            held.append(sock)
            sock.bind((LOOPBACK, 0))
        return [s.getsockname()[1] for s in held]
    finally:
        for sock in held:
            sock.close()


def port_accepts(port: int, timeout: float = 0.5) -> bool:
    """Whether a TCP connection to 127.0.0.1:``port`` is accepted within ``timeout``."""
    try:
        with socket.create_connection((LOOPBACK, port), timeout=timeout):
            return True
    except OSError:
        return False


class PeerProcess:
    """One external server process that we started, and how to stop it (only it).

    The program runs in a session of its own, so that a terminal's Ctrl-C reaches our
    teardown rather than the peer, and so that a peer which forks (nginx's workers) can be
    killed as one process group if it ignores polite signals. Its output goes to a log
    file, whose tail is quoted in every error: a peer that fails to start says why there.
    """

    def __init__(self, name: str, argv: Sequence[str], log_file: Path, env: Mapping[str, str] | None = None) -> None:
        self.name = name
        self.argv = [str(a) for a in argv]
        self.log_file = log_file
        self.env = dict(env) if env is not None else None
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self) -> None:
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_file, "ab") as log:  # the child keeps its own copy of the fd
            self.process = subprocess.Popen(
                self.argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self.env,
                start_new_session=True,
                close_fds=True,
            )

    def log_tail(self, limit: int = 2000) -> str:
        try:
            data = self.log_file.read_bytes()
        except OSError:
            return ""
        return data[-limit:].decode("utf-8", "replace").strip()

    def wait_until(self, ready: Callable[[], bool], timeout: float, what: str, poll: float = 0.05) -> None:
        """Poll ``ready`` until it holds; fail early if the process dies, late if time runs out."""
        deadline = time.monotonic() + timeout
        # Bounded twice: by the deadline, and by a count in case ``ready`` is slow to say no.
        for _ in range(int(timeout / poll) + 1):
            if ready():
                return
            if self.process is None or self.process.poll() is not None:
                code = self.process.returncode if self.process else None
                raise RealPeerError(f"{self.name} exited (code {code}) before {what}:\n{self.log_tail()}")
            if time.monotonic() >= deadline:
                break
            time.sleep(poll)
        raise RealPeerError(f"{self.name} not ready within {timeout:.0f} s ({what}):\n{self.log_tail()}")

    def stop(self, polite: signal.Signals = signal.SIGTERM, timeout: float = 5.0) -> int | None:
        """Stop the process: ``polite`` signal, then SIGTERM, then SIGKILL to its group.

        Each step waits at most ``timeout``. The group kill happens only while our child
        is not yet reaped, so its process-group id cannot have been reused by a stranger.
        Returns the exit code (None if it never started).
        """
        proc = self.process
        if proc is None:
            return None
        for sig in dict.fromkeys((polite, signal.SIGTERM)):  # dedupe, keep order
            if proc.poll() is not None:
                return proc.returncode
            try:
                proc.send_signal(sig)
            except ProcessLookupError:
                pass
            try:
                return proc.wait(timeout)
            except subprocess.TimeoutExpired:
                continue
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGKILL)  # the master and any worker it forked
            except (ProcessLookupError, PermissionError):
                proc.kill()
        try:
            return proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise RealPeerError(f"{self.name} (pid {proc.pid}) survived SIGKILL for {timeout} s") from None
