"""The curl rollout: who is on curl, that the kill switch reaches everyone, that nothing breaks.

Issue 4's acceptance, as scenarios:

- over 100,000 synthetic install ids the share on curl is within 0.5 points of the
  payload's coverage, stable per id, identical to what the GrowthBook SDK computes, and
  monotonic from 1% to 10%;
- flipping the kill switch in the payload file moves all installs to native within the
  reload interval (and not before the interval: the file is not polled on every request);
- a broken payload never flips anyone and never raises; the install id is random,
  private and durable.

Time is a fake clock everywhere except the concurrency test, so nothing sleeps. The only
network peer is a loopback HTTP server.
"""

from __future__ import annotations

import http.server
import itertools
import json
import os
import random
import stat
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from growthbook import GrowthBook
from growthbook.core import gbhash

from tlsdoctor.client.rollout import (
    MAX_PAYLOAD_BYTES,
    Cohort,
    PayloadError,
    Rollout,
    check_payload,
    evaluate,
    install_id,
    main,
    rollout_payload,
)

N_INSTALLS = 100_000
SAMPLE = 2_000
FEATURE = "http-stack"


# -- helpers --------------------------------------------------------------------------------


class FakeClock:
    """``time.monotonic`` that moves only when the test says so."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


_mtime_step = iter(range(1, 1_000_000))


def publish(path: Path, payload: Any) -> None:
    """Publish a payload as a deploy tool should: temp file, then rename.

    The mtime is then set explicitly, a distinct value each time, so the change is seen
    on filesystems whose timestamps are coarser than the test is fast.
    """
    raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(raw)
    os.replace(tmp, path)
    stamp = 1_700_000_000 * 10**9 + next(_mtime_step) * 10**9
    os.utime(path, ns=(stamp, stamp))


def rule_of(payload: dict[str, Any]) -> dict[str, Any]:
    (rollout_rule,) = [r for r in payload["features"][FEATURE]["rules"] if "coverage" in r]
    return rollout_rule


def expected_on_curl(ids: list[str], payload: dict[str, Any], buckets: list[float] | None = None) -> list[bool]:
    """Who the SDK puts on curl, computed from the SDK's hash function, not its evaluator.

    For a force rule with coverage, GrowthBook includes an install when
    ``gbhash(seed, id, hashVersion) < coverage`` (``_isIncludedInRollout`` in
    ``growthbook/core.py``). Applying the SDK's own ``gbhash`` to all 100,000 ids costs
    under a second, where building a Rollout per id would cost far more; the full SDK
    objects are exercised on a sample and on the whole population separately.

    ``buckets`` are precomputed ``gbhash(FEATURE, id, 2)`` values, usable when the rule's
    seed is the feature name (the helper's default), to hash the population only once.
    """
    rule = rule_of(payload)
    assert rule["hashVersion"] == 2 and rule["hashAttribute"] == "id"
    if buckets is None:
        buckets = [gbhash(rule["seed"], i, rule["hashVersion"]) for i in ids]
    else:
        assert rule["seed"] == FEATURE
    return [n < rule["coverage"] for n in buckets]


@pytest.fixture(scope="module")
def install_ids() -> list[str]:
    """100,000 install ids shaped like real ones (128 random bits in hex), reproducibly."""
    rng = random.Random(42)
    return [format(rng.getrandbits(128), "032x") for _ in range(N_INSTALLS)]


@pytest.fixture(scope="module")
def buckets(install_ids: list[str]) -> list[float]:
    """Each install's position in [0, 1) for the default seed, per the SDK's own hash."""
    return [gbhash(FEATURE, i, 2) for i in install_ids]


@pytest.fixture
def payload_file(tmp_path: Path) -> Path:
    return tmp_path / "rollout.json"


# -- the cohort -----------------------------------------------------------------------------


def test_five_percent_of_100k_installs_on_curl_exactly_as_the_sdk_decides(
    install_ids: list[str], buckets: list[float], payload_file: Path
) -> None:
    payload = rollout_payload(0.05)
    expected = expected_on_curl(install_ids, payload, buckets)

    share = sum(expected) / N_INSTALLS
    assert abs(share - 0.05) <= 0.005, share

    # The SDK's evaluator over the whole population, one GrowthBook object re-targeted
    # per id (the same rule path a Rollout takes, minus the file).
    gb = GrowthBook(features=payload["features"])
    for iid, on_curl in zip(install_ids, expected):
        gb.set_attributes({"id": iid})
        assert (gb.eval_feature(FEATURE).value == "curl") == on_curl, iid

    # And the full Rollout path (file, check, SDK object per install) on a sample, twice
    # per install and once more from a fresh object: stable per id.
    publish(payload_file, payload)
    for iid, on_curl in list(zip(install_ids, expected))[:SAMPLE]:
        rollout = Rollout(payload=payload_file, install_id=iid, clock=FakeClock())
        first, second = rollout.stack(), rollout.stack()
        again = Rollout(payload=payload_file, install_id=iid, clock=FakeClock()).stack()
        assert first == second == again
        assert first.value == ("curl" if on_curl else "native")
        assert first.rule == ("rollout-5pct" if on_curl else "default")
        assert rollout.last_error is None


def test_hash_version_2_is_the_documented_fnv1a_scheme(install_ids: list[str]) -> None:
    """Our own FNV-1a, written from the FNV reference, agrees with the SDK's gbhash.

    Guards against a future SDK silently changing what "hash version 2" means: the
    cohort of every install in the field depends on it.
    """

    def fnv1a32(text: str) -> int:
        h = 0x811C9DC5
        for byte in text.encode():
            h = ((h ^ byte) * 0x01000193) & 0xFFFFFFFF
        return h

    assert fnv1a32("a") == 0xE40C292C and fnv1a32("foobar") == 0xBF9CF968  # FNV test vectors
    for iid in install_ids[:5_000]:
        ours = (fnv1a32(str(fnv1a32(FEATURE + iid))) % 10_000) / 10_000
        assert gbhash(FEATURE, iid, 2) == ours


def test_going_from_1_to_10_percent_keeps_everyone_already_on_curl(
    install_ids: list[str], buckets: list[float]
) -> None:
    steps = [0.01, 0.03, 0.05, 0.10]
    cohorts: list[set[str]] = []
    for coverage in steps:
        payload = rollout_payload(coverage)
        on_curl = {i for i, yes in zip(install_ids, expected_on_curl(install_ids, payload, buckets)) if yes}
        assert abs(len(on_curl) / N_INSTALLS - coverage) <= 0.005, coverage
        # The SDK's evaluator agrees on a sample at every step.
        for iid in install_ids[:SAMPLE]:
            assert (evaluate(payload, FEATURE, iid).value == "curl") == (iid in on_curl)
        cohorts.append(on_curl)
    for smaller, larger in itertools.pairwise(cohorts):
        assert smaller <= larger


def test_a_new_seed_draws_a_different_cohort(install_ids: list[str], buckets: list[float]) -> None:
    some = install_ids[:20_000]
    same = expected_on_curl(some, rollout_payload(0.05), buckets[:20_000])
    other = expected_on_curl(some, rollout_payload(0.05, seed="http-stack-2"))
    overlap = sum(a and b for a, b in zip(same, other)) / max(1, sum(same))
    assert overlap < 0.2  # independent draws overlap by about the coverage, 5%


# -- kill switch ----------------------------------------------------------------------------


def test_kill_switch_moves_every_install_to_native_within_the_reload_interval(
    install_ids: list[str], payload_file: Path
) -> None:
    clock = FakeClock()
    publish(payload_file, rollout_payload(1.0))
    installs = [Rollout(payload=payload_file, install_id=i, reload_interval=30, clock=clock)
                for i in install_ids[:1_000]]
    assert {r.stack().value for r in installs} == {"curl"}

    publish(payload_file, rollout_payload(1.0, kill_switch=True))
    clock.advance(29)
    assert {r.stack().value for r in installs} == {"curl"}  # not looked at yet
    assert {r.loads for r in installs} == {1}

    clock.advance(1.5)
    cohorts = [r.stack() for r in installs]
    assert {c.value for c in cohorts} == {"native"}
    assert {c.rule for c in cohorts} == {"kill-switch"}
    assert {r.last_error for r in installs} == {None}


def test_lifting_the_kill_switch_restores_the_same_cohort(install_ids: list[str], payload_file: Path) -> None:
    clock = FakeClock()
    publish(payload_file, rollout_payload(0.05))
    installs = [Rollout(payload=payload_file, install_id=i, reload_interval=30, clock=clock)
                for i in install_ids[:SAMPLE]]
    before = {r.install_id for r in installs if r.stack().value == "curl"}
    assert before

    publish(payload_file, rollout_payload(0.05, kill_switch=True))
    clock.advance(30)
    assert {r.stack().value for r in installs} == {"native"}

    publish(payload_file, rollout_payload(0.05))
    clock.advance(30)
    assert {r.install_id for r in installs if r.stack().value == "curl"} == before


def test_an_unchanged_file_is_not_read_again(payload_file: Path) -> None:
    clock = FakeClock()
    publish(payload_file, rollout_payload(0.5))
    rollout = Rollout(payload=payload_file, install_id="ab" * 16, reload_interval=10, clock=clock)
    first = rollout.stack()
    for _ in range(5):
        clock.advance(11)
        assert rollout.stack() == first
    assert rollout.loads == 1


# -- broken payloads ------------------------------------------------------------------------

GOOD = rollout_payload(1.0)


def _feature(**spec: Any) -> dict[str, Any]:
    return {"features": {FEATURE: spec}}


BROKEN: dict[str, tuple[bytes | None, str]] = {
    "garbage": (b"\x00\xffnot json{", "not JSON"),
    "empty": (b"", "empty"),
    "whitespace": (b" \n\t", "empty"),
    "missing file": (None, "does not exist"),
    "json array": (b"[1, 2]", "not a JSON object"),
    "no features": (json.dumps({"status": 200}).encode(), '"features"'),
    "other feature only": (json.dumps({"features": {"dark-mode": {"defaultValue": True}}}).encode(),
                           "not in the payload"),
    "value of the wrong type": (json.dumps(_feature(defaultValue=1)).encode(), "defaultValue is 1"),
    "unknown value": (json.dumps(_feature(defaultValue="native", rules=[
        {"id": "typo", "force": "Curl", "coverage": 0.05, "hashAttribute": "id", "hashVersion": 2}])).encode(),
        "'Curl'"),
    "rules not a list": (json.dumps(_feature(defaultValue="native", rules={"force": "curl"})).encode(),
                         "not a list"),
    "hash version 1": (json.dumps(_feature(defaultValue="native", rules=[
        {"id": "r", "force": "curl", "coverage": 0.05, "hashAttribute": "id"}])).encode(), "hashVersion 2"),
    "hashes an attribute installs lack": (json.dumps(_feature(defaultValue="native", rules=[
        {"id": "r", "force": "curl", "coverage": 0.05, "hashAttribute": "deviceId", "hashVersion": 2}])).encode(),
        "deviceId"),
    "coverage out of range": (json.dumps(_feature(defaultValue="native", rules=[
        {"id": "r", "force": "curl", "coverage": 5, "hashAttribute": "id", "hashVersion": 2}])).encode(),
        "between 0 and 1"),
    "coverage NaN": (json.dumps(_feature(defaultValue="native", rules=[
        {"id": "r", "force": "curl", "coverage": float("nan"), "hashAttribute": "id", "hashVersion": 2}])).encode(),
        "between 0 and 1"),
    "encrypted": (json.dumps({"encryptedFeatures": "abc=="}).encode(), "encrypted"),
    "over 1 MiB": (b'{"pad": "' + b"x" * MAX_PAYLOAD_BYTES + b'"}', "larger than"),
}


@pytest.mark.parametrize("raw, reason", BROKEN.values(), ids=BROKEN.keys())
def test_a_broken_first_payload_gives_the_default_stack_and_says_why(
    payload_file: Path, raw: bytes | None, reason: str
) -> None:
    if raw is not None:
        publish(payload_file, raw)
    rollout = Rollout(payload=payload_file, install_id="cd" * 16, clock=FakeClock())
    cohort = rollout.stack()
    assert cohort == Cohort(FEATURE, "native", "fallback", str(payload_file), None)
    assert rollout.last_error is not None and reason in rollout.last_error


@pytest.mark.parametrize("raw, reason", BROKEN.values(), ids=BROKEN.keys())
def test_a_broken_update_keeps_the_last_good_stack_until_fixed(
    payload_file: Path, raw: bytes | None, reason: str
) -> None:
    clock = FakeClock()
    publish(payload_file, GOOD)
    rollout = Rollout(payload=payload_file, install_id="cd" * 16, reload_interval=5, clock=clock)
    good = rollout.stack()
    assert good.value == "curl"

    if raw is None:
        payload_file.unlink()
    else:
        publish(payload_file, raw)
    clock.advance(5)
    assert rollout.stack() == good
    assert rollout.last_error is not None and reason in rollout.last_error

    publish(payload_file, rollout_payload(1.0, kill_switch=True))
    clock.advance(5)
    assert rollout.stack().rule == "kill-switch"
    assert rollout.last_error is None


def test_the_default_is_what_an_install_uses_without_a_payload(tmp_path: Path) -> None:
    rollout = Rollout(payload=tmp_path / "absent.json", install_id="ef" * 16, default="curl", clock=FakeClock())
    assert rollout.stack().value == "curl"
    with pytest.raises(ValueError):
        Rollout(payload=tmp_path / "absent.json", install_id="ef" * 16, default="winhttp")


def test_a_payload_from_a_growthbook_server_is_used_as_is(payload_file: Path) -> None:
    """GrowthBook's SDK endpoint adds fields (status, dateUpdated, rule meta); they are ignored."""
    rule = {"id": "fr_40644z1lmfz8ohm", "coverage": 0.05, "hashAttribute": "id", "seed": "http-stack",
            "hashVersion": 2, "force": "curl", "name": "curl 5%", "meta": [{"key": "x"}]}
    publish(payload_file, {"status": 200, "dateUpdated": "2026-11-22T10:00:00.000Z", "savedGroups": {},
                           "features": {FEATURE: {"defaultValue": "native", "rules": [rule]},
                                        "dark-mode": {"defaultValue": False}}})
    in_cohort = next(format(n, "032x") for n in range(10**6) if gbhash("http-stack", format(n, "032x"), 2) < 0.05)
    cohort = Rollout(payload=payload_file, install_id=in_cohort, clock=FakeClock()).stack()
    assert (cohort.value, cohort.rule) == ("curl", "fr_40644z1lmfz8ohm")
    assert cohort.payload_version and cohort.payload_version.startswith("sha256:")


# -- payload helper -------------------------------------------------------------------------


def test_rollout_payload_shape() -> None:
    assert rollout_payload(0.01) == {"features": {FEATURE: {"defaultValue": "native", "rules": [
        {"id": "rollout-1pct", "force": "curl", "coverage": 0.01, "hashAttribute": "id", "hashVersion": 2,
         "seed": FEATURE}]}}}
    killed = rollout_payload(0.07, kill_switch=True)["features"][FEATURE]["rules"]
    assert killed[0] == {"id": "kill-switch", "force": "native"}
    assert killed[1]["id"] == "rollout-7pct"
    assert rollout_payload(0.005)["features"][FEATURE]["rules"][0]["id"] == "rollout-0.5pct"
    for coverage in (0.0, 0.01, 0.5, 1.0):
        check_payload(json.loads(json.dumps(rollout_payload(coverage, kill_switch=coverage > 0.4))))
    for bad in (-0.1, 1.01, float("nan"), True):
        with pytest.raises(ValueError):
            rollout_payload(bad)
    with pytest.raises(PayloadError):
        check_payload(rollout_payload(0.1), feature="other")


def test_the_payload_tool_writes_and_checks(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["make", "0.03", "--kill-switch"]) == 0
    written = tmp_path / "p.json"
    written.write_text(capsys.readouterr().out)
    assert json.loads(written.read_text()) == rollout_payload(0.03, kill_switch=True)
    assert main(["check", str(written), "--sample", "500"]) == 0
    assert "0.00% of" in capsys.readouterr().out  # the kill switch: nobody on curl
    written.write_text('{"features": {}}')
    assert main(["check", str(written)]) == 1
    assert "not in the payload" in capsys.readouterr().err


# -- payload from a URL ---------------------------------------------------------------------


class PayloadServer:
    """A loopback HTTP server whose answer the test sets; counts the requests it gets."""

    def __init__(self) -> None:
        self.body = json.dumps(GOOD).encode()
        self.status = 200
        self.requests = 0
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.requests += 1
                self.send_response(server.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(server.body)))
                self.end_headers()
                self.wfile.write(server.body)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/api/features/sdk-key?secret=1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                       daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)


@pytest.fixture
def payload_server() -> Iterator[PayloadServer]:
    server = PayloadServer()
    try:
        yield server
    finally:
        server.close()


def test_a_payload_url_is_fetched_at_most_once_per_interval(payload_server: PayloadServer) -> None:
    clock = FakeClock()
    rollout = Rollout(payload=payload_server.url, install_id="01" * 16, reload_interval=30, clock=clock)
    cohort = rollout.stack()
    assert (cohort.value, cohort.rule) == ("curl", "rollout-100pct")
    assert "secret" not in cohort.source and cohort.source.endswith("/api/features/sdk-key")

    payload_server.body = json.dumps(rollout_payload(1.0, kill_switch=True)).encode()
    for _ in range(10):
        clock.advance(2.9)
        assert rollout.stack().value == "curl"
    assert payload_server.requests == 1

    clock.advance(1)
    assert rollout.stack().rule == "kill-switch"
    assert payload_server.requests == 2


def test_a_failing_payload_url_keeps_the_last_good_stack(payload_server: PayloadServer) -> None:
    clock = FakeClock()
    rollout = Rollout(payload=payload_server.url, install_id="01" * 16, reload_interval=30, clock=clock)
    assert rollout.stack().value == "curl"

    payload_server.status = 500
    clock.advance(30)
    assert rollout.stack().value == "curl"
    assert rollout.last_error is not None and "500" in rollout.last_error

    payload_server.status = 200
    payload_server.body = b"{" * (MAX_PAYLOAD_BYTES + 10)
    clock.advance(30)
    assert rollout.stack().value == "curl"
    assert rollout.last_error is not None and "larger than" in rollout.last_error

    payload_server.close()  # nobody listening any more
    clock.advance(30)
    assert rollout.stack().value == "curl"
    assert rollout.last_error is not None


def test_an_unreachable_payload_url_gives_the_default_stack() -> None:
    def refuse(url: str) -> bytes:
        raise OSError("connection refused")

    rollout = Rollout(payload="https://rollout.invalid/p.json", install_id="01" * 16, fetch=refuse,
                      clock=FakeClock())
    assert rollout.stack().rule == "fallback"
    assert "connection refused" in (rollout.last_error or "")


def test_requests_do_not_wait_for_a_slow_payload_fetch() -> None:
    clock = FakeClock()
    release, entered = threading.Event(), threading.Event()
    answers = iter([json.dumps(GOOD).encode(), json.dumps(rollout_payload(1.0, kill_switch=True)).encode()])

    def slow_fetch(url: str) -> bytes:
        body = next(answers)
        if body != json.dumps(GOOD).encode():
            entered.set()
            assert release.wait(10)
        return body

    rollout = Rollout(payload="https://rollout.example/p.json", install_id="01" * 16, reload_interval=30,
                      clock=clock, fetch=slow_fetch)
    assert rollout.stack().value == "curl"
    clock.advance(31)
    refresher = threading.Thread(target=rollout.stack)
    refresher.start()
    assert entered.wait(10)
    assert rollout.stack().value == "curl"  # answered at once, from the current payload
    release.set()
    refresher.join(10)
    assert rollout.stack().value == "native"


# -- install id -----------------------------------------------------------------------------


def test_install_id_is_random_private_and_durable(tmp_path: Path) -> None:
    state = tmp_path / "state"
    first = install_id(state)
    path = state / "install-id"
    assert len(first) == 32 and int(first, 16) >= 0
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert install_id(state) == first
    assert install_id(tmp_path / "another-install") != first
    assert [p.name for p in state.iterdir()] == ["install-id"]  # no temporary files left


@pytest.mark.parametrize("content", [b"", b"not hex at all", b"\xff\xfe", b"abc", b"0" * 31 + b"g", b"0" * 64])
def test_a_corrupt_install_id_is_replaced(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "install-id"
    path.write_bytes(content)
    os.chmod(path, 0o644)
    replaced = install_id(tmp_path)
    assert path.read_text().strip() == replaced and len(replaced) == 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert install_id(tmp_path) == replaced


def test_installs_starting_at_once_agree_on_one_id(tmp_path: Path) -> None:
    barrier = threading.Barrier(16)
    ids: list[str] = []

    def start() -> None:
        barrier.wait()
        ids.append(install_id(tmp_path / "state"))

    threads = [threading.Thread(target=start) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert len(ids) == 16 and len(set(ids)) == 1


def test_an_unwritable_state_directory_still_gives_an_id(tmp_path: Path) -> None:
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("")
    iid = install_id(not_a_dir)
    assert len(iid) == 32 and int(iid, 16) >= 0


# -- concurrency ----------------------------------------------------------------------------


def test_twenty_threads_while_the_payload_flips(payload_file: Path) -> None:
    """The client asks from many threads while an operator rewrites the file, sometimes torn."""
    publish(payload_file, GOOD)
    shared = Rollout(payload=payload_file, install_id="42" * 16, reload_interval=0)
    stop = threading.Event()
    seen: set[str] = set()
    errors: list[BaseException] = []

    def ask() -> None:
        try:
            while not stop.is_set():
                cohort = shared.stack()
                seen.add(cohort.value)
                assert cohort.value in ("curl", "native")
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=ask) for _ in range(20)]
    for t in threads:
        t.start()
    killed = json.dumps(rollout_payload(1.0, kill_switch=True)).encode()
    for n in range(150):
        if n % 3 == 2:  # a torn, non-atomic write: half the file, then the rest
            with open(payload_file, "wb") as f:
                f.write(killed[: len(killed) // 2])
                f.flush()
                f.write(killed[len(killed) // 2:])
        else:
            publish(payload_file, GOOD if n % 2 else killed)
    publish(payload_file, killed)
    stop.set()
    for t in threads:
        t.join(10)
    assert not errors
    assert seen <= {"curl", "native"}
    assert shared.stack().rule == "kill-switch"
