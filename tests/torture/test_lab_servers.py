"""Torture against the lab: healthy scenarios survive everything, each fragile server is
caught by the attack matching its bug and by no attack of another bug class.

The fragile servers reproduce field bugs faithfully (tlsdoctor.lab.fragile), so these
are the tool's end-to-end tests: real sockets, real TLS, real libcurl sanity requests.
"""

from __future__ import annotations

import json
from typing import Iterator

import pytest

import tlsdoctor.torture as torture
from tlsdoctor.cli import main
from tlsdoctor.lab import Lab
from tlsdoctor.lab.fragile import FRAGILE, fragile
from tlsdoctor.lab.runner import running_lab
from tlsdoctor.torture import ATTACKS, BugClass, Outcome, Symptom

EXPECTED = {  # fragile server -> (outcomes that count as caught, the symptom a user sees)
    "fragile-eof": ({Outcome.DEAD}, Symptom.EMPTY_REPLY),
    "fragile-blocking": ({Outcome.DEGRADED, Outcome.DEAD}, Symptom.TIMEOUT),
}


def test_healthy_lab_survives_every_attack(tls_lab: Lab) -> None:
    entry = tls_lab["ok"]
    report = torture.run(entry.url, ca_bundle=entry.ca_file, rounds=2, concurrency=8)
    assert report.http2 and report.tls_versions == ("1.3", "1.2")
    # Survived (or, on a loaded machine, slowed: the lab shares this process's GIL): exit 0.
    assert [(r.id, r.outcome) for r in report.results if r.outcome not in (Outcome.SURVIVED, Outcome.SLOWED)] == []
    assert report.exit_code == 0
    # Every attack really ran rounds, each followed by a verified request that succeeded.
    for result in report.results:
        assert result.rounds and all(r.sanity.curl_code == 0 for r in result.rounds), result.id


@pytest.mark.parametrize("scenario_id", ["no-close-notify", "expiring-soon"])
def test_other_healthy_scenarios_survive(tls_lab: Lab, scenario_id: str) -> None:
    entry = tls_lab[scenario_id]
    report = torture.run(entry.url, ca_bundle=entry.ca_file, rounds=2, concurrency=4,
                         only=[a.id for a in ATTACKS if not a.held])
    assert report.exit_code == 0, [(r.id, r.outcome, r.symptom) for r in report.failed]


@pytest.fixture
def fragile_lab(request: pytest.FixtureRequest) -> Iterator[Lab]:
    with running_lab(fragile=[request.param]) as lab:
        yield lab


@pytest.mark.parametrize("fragile_lab", [f.id for f in FRAGILE], indirect=True)
def test_fragile_server_is_caught_by_its_attack(fragile_lab: Lab) -> None:
    (server,) = fragile_lab.fragile.values()
    entry = fragile(server.id)
    # Two held connections block a server whose accept loop does handshakes as well as 16 would.
    report = torture.run(server.url, ca_bundle=server.ca_file, only=[entry.caught_by], rounds=2, concurrency=2,
                         timeout=1.5)
    (result,) = report.results
    outcomes, symptom = EXPECTED[server.id]
    assert result.outcome in outcomes and result.symptom is symptom, result
    assert result.bug_class is BugClass(entry.bug_class)
    assert report.exit_code == 1


@pytest.mark.parametrize("fragile_lab", [f.id for f in FRAGILE], indirect=True)
def test_fragile_server_survives_unrelated_attacks(fragile_lab: Lab) -> None:
    (server,) = fragile_lab.fragile.values()
    unrelated = [a.id for a in ATTACKS if a.bug_class.value != fragile(server.id).bug_class]
    report = torture.run(server.url, ca_bundle=server.ca_file, only=unrelated, rounds=2, concurrency=4)
    assert [(r.id, r.outcome, r.symptom) for r in report.failed] == []


def test_cli_names_the_attack_and_symptom(capsys: pytest.CaptureFixture[str]) -> None:
    with running_lab(fragile=["fragile-eof"]) as lab:
        server = lab.fragile["fragile-eof"]
        code = main(["torture", server.url, "--ca-bundle", str(server.ca_file), "--rounds", "2"])
    out = capsys.readouterr().out
    assert code == 1
    assert "drop-without-close-notify" in out and "dead" in out and "empty reply" in out
    assert "ERR_clear_error" in out  # the fix, as a diagnosis gives it


def test_cli_json_exit_zero_on_healthy(tls_lab: Lab, capsys: pytest.CaptureFixture[str]) -> None:
    entry = tls_lab["ok"]
    code = main(["torture", entry.url, "--ca-bundle", str(entry.ca_file), "--json", "--rounds", "1",
                 "--only", "drop-without-close-notify", "garbage"])
    document = json.loads(capsys.readouterr().out)
    assert code == 0 and document["schema"] == "tlsdoctor.torture/1" and document["exit_code"] == 0
    assert [a["id"] for a in document["attacks"]] == ["drop-without-close-notify", "garbage"]
    assert all(a["outcome"] == "survived" and a["rounds"] for a in document["attacks"])
    assert document["baseline"]["status"] == 200 and "body" not in json.dumps(document["baseline"]).replace("body_sha256", "")
