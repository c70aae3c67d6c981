"""lab/process.py: an external server started, waited for with a bound, stopped and reaped, its log kept.

Real child processes (this interpreter running small servers on 127.0.0.1), no mocks: each
test checks what the kernel says afterwards (the port closed, the process and its group gone).
"""

from __future__ import annotations

import signal
import sys
import time
from pathlib import Path

import pytest

from tlsdoctor.lab.process import PeerProcess, RealPeerError, RealPeerUnavailable, find_program, free_ports, port_accepts

# A tiny TCP server: listens on the port it is given, says so in its log, accepts until killed.
SERVER = """
import signal, socket, sys, time
if "--ignore-term" in sys.argv:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGQUIT, signal.SIG_IGN)
if "--fork" in sys.argv:
    import subprocess
    worker = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    print("worker", worker.pid, flush=True)
server = socket.socket()
server.bind(("127.0.0.1", int(sys.argv[1])))
server.listen(8)
server.settimeout(0.2)
print("listening", flush=True)
for _ in range(600):  # bounded: two minutes at most, even if nobody stops it
    try:
        server.accept()[0].close()
    except OSError:
        pass
"""


def _server(tmp_path: Path, *flags: str) -> tuple[PeerProcess, int]:
    [port] = free_ports(1)
    script = tmp_path / "server.py"
    script.write_text(SERVER)
    return PeerProcess("toy", [sys.executable, script, str(port), *flags], tmp_path / "toy.log"), port


def _gone(pid: int, timeout: float = 5.0) -> bool:
    """Whether ``pid`` no longer runs (absent, or a zombie waiting for init to reap it)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, ProcessLookupError, IndexError):
            return True
        if state == "Z":
            return True
        time.sleep(0.05)
    return False


def test_start_wait_stop_and_reap(tmp_path: Path) -> None:
    process, port = _server(tmp_path)
    process.start()
    try:
        process.wait_until(lambda: port_accepts(port, 0.5), 10.0, f"port {port} accepted")
        assert process.running and port_accepts(port)
        assert "listening" in process.log_tail()
    finally:
        code = process.stop(timeout=5.0)
    assert code == -signal.SIGTERM
    assert not process.running and not port_accepts(port)
    assert process.process is not None and process.process.returncode is not None  # reaped


def test_a_peer_that_dies_early_is_an_error_quoting_its_log(tmp_path: Path) -> None:
    process = PeerProcess("toy", [sys.executable, "-c", "import sys; print('bad config line 3'); sys.exit(3)"],
                          tmp_path / "toy.log")
    process.start()
    try:
        with pytest.raises(RealPeerError, match=r"(?s)exited \(code 3\).*bad config line 3"):
            process.wait_until(lambda: False, 10.0, "it listened")
    finally:
        process.stop(timeout=5.0)


def test_readiness_is_bounded_in_time(tmp_path: Path) -> None:
    process, port = _server(tmp_path)
    process.start()
    try:
        started = time.monotonic()
        with pytest.raises(RealPeerError, match="not ready within"):
            process.wait_until(lambda: False, 0.5, "never")
        assert time.monotonic() - started < 5.0
    finally:
        process.stop(timeout=5.0)


def test_a_peer_that_ignores_sigterm_is_killed_with_its_workers(tmp_path: Path) -> None:
    # As an nginx master with workers: the polite signals are ignored, so the whole group goes.
    process, port = _server(tmp_path, "--ignore-term", "--fork")
    process.start()
    try:
        process.wait_until(lambda: port_accepts(port, 0.5), 10.0, f"port {port} accepted")
        worker = int(next(line.split()[1] for line in process.log_tail().splitlines() if line.startswith("worker")))
    finally:
        code = process.stop(signal.SIGQUIT, timeout=0.5)
    assert code == -signal.SIGKILL
    assert _gone(worker), "the worker the peer forked outlived it"
    assert not port_accepts(port)


def test_stopping_a_peer_never_started_is_a_no_op(tmp_path: Path) -> None:
    assert PeerProcess("toy", ["true"], tmp_path / "toy.log").stop() is None


def test_an_explicit_program_that_is_not_there_is_unavailable(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("TLSDOCTOR_TOY", str(tmp_path / "no-toy"))
    with pytest.raises(RealPeerUnavailable, match="TLSDOCTOR_TOY"):
        find_program("toy")
    monkeypatch.delenv("TLSDOCTOR_TOY")
    with pytest.raises(RealPeerUnavailable, match="toy-that-nobody-installs is not installed"):
        find_program("toy-that-nobody-installs", ())


def test_free_ports_are_distinct_loopback_ports() -> None:
    ports = free_ports(5)
    assert len(set(ports)) == 5 and all(1024 <= p < 65536 for p in ports)
    assert not any(port_accepts(p, 0.2) for p in ports)
