"""``tlsdoctor diagnose --batch``: input order, politeness, bounded memory, redaction.

The scheduler is tested on its own (it does no I/O: it decides what starts and what is
emitted); the whole batch runs for real against the lab, in worker processes and in
this process, through the command line as a user runs it.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

import pytest

from tlsdoctor.batch import Scheduler, origin_key, run_batch
from tlsdoctor.lab.runner import Lab


def drive(scheduler: Scheduler, order: random.Random) -> tuple[list[int], int, dict[str, int]]:
    """Run the scheduler with results finishing in a random order; returns emitted, peak held, peak per host."""
    emitted: list[int] = []
    running: list[tuple[int, str]] = []
    peak_held = 0
    peak_host: dict[str, int] = {}
    while not scheduler.finished:
        running += scheduler.to_start()
        per_host: dict[str, int] = {}
        for _, url in running:
            per_host[origin_key(url)] = per_host.get(origin_key(url), 0) + 1
        for host, n in per_host.items():
            peak_host[host] = max(peak_host.get(host, 0), n)
        held = scheduler._read - len(emitted)
        peak_held = max(peak_held, held)
        index, _ = running.pop(order.randrange(len(running)))
        emitted += scheduler.finish(index, index)
    return emitted, peak_held, peak_host


def test_results_come_out_in_input_order_whatever_order_they_finish_in() -> None:
    urls = [f"https://h{n % 7}.test:{443 + n % 3}/" for n in range(500)]
    for seed in range(5):
        emitted, _, _ = drive(Scheduler(iter(urls), concurrency=8, per_host=2), random.Random(seed))
        assert emitted == list(range(500))


def test_no_more_than_per_host_at_once_against_one_server() -> None:
    urls = [f"https://same.test/{n}" for n in range(50)] + [f"https://other{n}.test/" for n in range(50)]
    random.Random(1).shuffle(urls)
    _, _, peak = drive(Scheduler(iter(urls), concurrency=16, per_host=3), random.Random(2))
    assert peak["same.test:443"] == 3
    assert max(v for k, v in peak.items() if k != "same.test:443") == 1


def test_memory_is_bounded_by_the_window_not_the_batch() -> None:
    def endless():  # 100,000 inputs, never materialised as a list
        for n in range(100_000):
            yield f"https://h{n % 50}.test/"

    scheduler = Scheduler(endless(), concurrency=8, per_host=2, window=64)
    _, peak_held, _ = drive(scheduler, random.Random(3))
    assert peak_held <= 64 + 8


def test_origin_key_names_the_server() -> None:
    assert origin_key("https://Example.TEST/x?y") == "example.test:443"
    assert origin_key("https://u:p@example.test:8443/") == "example.test:8443"
    assert origin_key("http://[::1]/") == "::1:80"
    assert origin_key("https://bad:port:x/") == "https://bad:port:x/"


@pytest.mark.parametrize("processes", [0, 2], ids=["in-process", "worker-processes"])
def test_a_batch_against_the_lab_streams_in_input_order(tls_lab: Lab, processes: int) -> None:
    ids = ["ok", "stall-handshake", "expired", "tcp-refused", "ok", "self-signed", "expired", "plain-http"]
    urls = [tls_lab[i].url for i in ids]
    options = {"ca_bundle": str(tls_lab["ok"].ca_file), "timeout": 3.0, "deadline": 15.0, "env": {}}
    results = list(run_batch(iter(urls), options, json_lines=True, concurrency=6, per_host=1, processes=processes))
    assert [r.index for r in results] == list(range(len(ids)))
    assert [r.code for r in results] == [tls_lab[i].code for i in ids]
    for r in results:
        document = json.loads(r.json)  # type: ignore[arg-type]
        assert document["schema"] == "tlsdoctor.diagnosis/1" and document["verdict"]["code"] == r.code


def tlsdoctor(*args: str, stdin: str | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tlsdoctor", *args], input=stdin, capture_output=True, text=True,
                          timeout=timeout, check=False)


SECRETS = ("hunter2", "s3cr3t-token", "pa/ss@word", "frag-secret")


def test_batch_output_is_redacted_in_the_table_and_in_json_lines(tls_lab: Lab, tmp_path: Path) -> None:
    ok = tls_lab["ok"].url
    port = ok.rsplit(":", 1)[1].strip("/")
    lines = [
        ok,
        f"https://admin:hunter2@127.0.0.1:{port}/path?token=s3cr3t-token",
        f"https://user:pa/ss@word@127.0.0.1:{port}/#frag-secret",
        "ftp://user:hunter2@127.0.0.1/?token=s3cr3t-token",  # bad input: its error line is redacted too
        "not a url \x1b]0;title\x07",
        "# a comment, skipped",
        "",
    ]
    batch = tmp_path / "urls.txt"
    batch.write_text("\n".join(lines) + "\n")
    ca = str(tls_lab["ok"].ca_file)
    for extra in ([], ["--json"]):
        done = tlsdoctor("diagnose", "--batch", str(batch), "--ca-bundle", ca, "--timeout", "2", *extra)
        assert done.returncode == 1, done.stderr  # bad inputs make the batch fail
        out = done.stdout + done.stderr
        for secret in SECRETS:
            assert secret not in out, (secret, out)
        assert "\x1b" not in done.stdout and "\x07" not in done.stdout
        if extra:
            documents = [json.loads(line) for line in done.stdout.splitlines()]
            assert len(documents) == 5
            codes = [d.get("verdict", {}).get("code", "error") for d in documents]
            assert codes[:2] == ["ok", "ok"] and codes[3:] == ["error", "error"]
            assert documents[3]["error"].startswith("bad input") and "[redacted]" in documents[3]["target"]["url"]
        else:
            rows = [line.split("\t") for line in done.stdout.splitlines() if "\t" in line]
            assert rows[0] == ["URL", "verdict", "curl", "summary"]
            verdicts = [r[1] for r in rows[1:]]
            assert verdicts[:2] == ["ok", "ok"] and verdicts[3:] == ["bad input", "bad input"]
            assert done.stdout.rstrip().endswith(" bad input.")


def test_batch_reads_standard_input_and_refuses_an_empty_list(tls_lab: Lab) -> None:
    ca = str(tls_lab["ok"].ca_file)
    done = tlsdoctor("diagnose", "--batch", "-", "--ca-bundle", ca, "--json", stdin=tls_lab["ok"].url + "\n")
    assert done.returncode == 0 and json.loads(done.stdout)["verdict"]["code"] == "ok"
    assert "diagnosing" not in done.stderr  # no progress when standard error is not a terminal
    empty = tlsdoctor("diagnose", "--batch", "/dev/null")
    assert empty.returncode == 2 and empty.stderr.startswith("tlsdoctor diagnose: no URLs")


def test_cli_defaults_match_the_library() -> None:
    from tlsdoctor import batch
    from tlsdoctor.cli import diagnose

    assert (diagnose.DEFAULT_CONCURRENCY, diagnose.DEFAULT_PER_HOST) == (batch.DEFAULT_CONCURRENCY,
                                                                         batch.DEFAULT_PER_HOST)


def test_hostile_lines_are_bad_input_not_a_crash(tls_lab: Lab, tmp_path: Path) -> None:
    batch = tmp_path / "hostile.txt"
    batch.write_bytes(b"\n".join([
        b"https://" + b"a" * 100_000 + b".test/?token=s3cr3t-token",  # too long: reported, not parsed
        b"https://127.0.0.1:1/\x00\x1b[2J",                        # NUL and a clear-screen escape
        b"\xff\xfe not utf-8",
        tls_lab["ok"].url.encode(),
    ]) + b"\n")
    done = tlsdoctor("diagnose", "--batch", str(batch), "--json", "--ca-bundle", str(tls_lab["ok"].ca_file),
                     "--timeout", "2")
    assert done.returncode == 1
    documents = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(documents) == 4
    assert documents[0]["error"] == "bad input: longer than 8192 characters"
    assert len(documents[0]["target"]["url"]) < 300 and "s3cr3t" not in done.stdout
    assert "\x1b" not in done.stdout and "\\u001b" not in done.stdout
    assert documents[3]["verdict"]["code"] == "ok"


def _batch_workers() -> list[int]:
    """The batch's worker processes: the children of this process's multiprocessing fork server."""
    import os

    def children(pid: int) -> list[int]:
        found: list[int] = []
        for task in os.listdir(f"/proc/{pid}/task"):
            try:
                with open(f"/proc/{pid}/task/{task}/children") as handle:
                    found += [int(c) for c in handle.read().split()]
            except OSError:
                continue
        return found

    workers: list[int] = []
    for child in children(os.getpid()):
        try:
            with open(f"/proc/{child}/cmdline", "rb") as handle:
                if b"forkserver" in handle.read():
                    workers += children(child)
        except OSError:
            continue
    return workers


@pytest.mark.skipif(sys.platform != "linux", reason="finds the worker processes through /proc")
def test_a_worker_process_that_dies_costs_one_error_line_per_url_it_held(tls_lab: Lab) -> None:
    import os
    import signal
    import threading
    import time

    stall, ok = tls_lab["stall-handshake"].url, tls_lab["ok"].url
    urls = [stall] * 4 + [ok] * 8
    options = {"ca_bundle": str(tls_lab["ok"].ca_file), "timeout": 4.0, "deadline": 20.0, "env": {}}
    killed: list[int] = []

    def kill_one_worker() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            workers = _batch_workers()
            if len(workers) == 2:
                time.sleep(0.5)  # each now holds two stalled diagnoses (4 s each)
                os.kill(workers[0], signal.SIGKILL)
                killed.append(workers[0])
                return
            time.sleep(0.05)

    killer = threading.Thread(target=kill_one_worker)
    killer.start()
    results = list(run_batch(iter(urls), options, json_lines=True, concurrency=4, per_host=4, processes=2))
    killer.join(timeout=60)
    assert killed, "no worker process was found to kill"
    assert [r.index for r in results] == list(range(len(urls)))
    lost = [r for r in results if r.code == "error"]
    assert len(lost) == 2 and {r.index for r in lost} <= {0, 1, 2, 3}  # what the killed worker held
    for r in lost:
        assert r.summary == "internal error: the batch worker process diagnosing this URL was killed by SIGKILL"
        document = json.loads(r.json)  # type: ignore[arg-type]
        assert document["error"] == r.summary and document["target"]["url"] == r.url
    assert [r.code for r in results[:4] if r.code != "error"] == ["tls.handshake_timeout"] * 2
    assert [r.code for r in results[4:]] == ["ok"] * 8  # a new worker took the dead one's place


def test_an_internal_error_reads_as_an_error_not_as_bad_input() -> None:
    from tlsdoctor.batch import BatchResult
    from tlsdoctor.render.batch import BatchCounts, row

    lost = BatchResult(0, "https://a.test/", False, "error", None,
                       "internal error: the batch worker process diagnosing this URL was killed by SIGKILL")
    bad = BatchResult(1, "ftp://b.test/", False, "error", None, "bad input: not an https URL")
    assert (lost.internal_error, lost.bad_input, bad.internal_error, bad.bad_input) == (True, False, False, True)
    assert str(row(lost)[1]) == "error" and str(row(bad)[1]) == "bad input"
    counts = BatchCounts()
    for r in (lost, bad):
        counts.add(r)
    assert not counts.all_ok
    assert counts.line() == "0 ok, 0 failing, 1 bad input, 1 not diagnosed (internal error)."
