"""A server that redirects: the client that follows meets a second server, which may be the broken one.

"https://example.com works in the diagnosis, yet the app gets curl 60": the app follows a 301
to https://www.example.com, whose certificate expired. A diagnosis of one URL says what it did
not examine (the redirect's target, without its query: tokens live there), and ``diagnose
--follow`` diagnoses each hop as the client meets it. Real TLS on 127.0.0.1, lab certificates.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from tlsdoctor.cli import main
from tlsdoctor.lab.authorities import LabAuthorities
from tlsdoctor.lab.endpoints import HttpsOrigin
from tlsdoctor.lab.http import Reply
from tlsdoctor.lab.tls import TlsServerConfig

from .conftest import diagnose_hostile
from .servers import serving

NOW = datetime.now(timezone.utc)


def origin(authorities: LabAuthorities, *, expired: bool = False, location: str | None = None) -> HttpsOrigin:
    dates = {"not_before": NOW - timedelta(days=30), "not_after": NOW - timedelta(days=1)} if expired else {}
    leaf = authorities.intermediate.issue_cert("localhost", "127.0.0.1", **dates)  # type: ignore[arg-type]
    reply = Reply(status=301, extra_headers=((b"location", location.encode()),)) if location else Reply()
    return HttpsOrigin(TlsServerConfig(certificate=leaf, alpn=("h2", "http/1.1")), reply=reply)


@pytest.fixture()
def clean_env(monkeypatch: pytest.MonkeyPatch, root_file: Path) -> None:
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SSL_CERT_FILE", str(root_file))
    monkeypatch.setenv("SSL_CERT_DIR", "")


def test_a_working_redirect_names_its_target_as_not_checked_without_its_query(authorities, root_file) -> None:
    with serving(origin(authorities, expired=True)) as b:
        with serving(origin(authorities, location=f"https://localhost:{b}/login?token=REDIRECT-TOKEN#x")) as a:
            d = diagnose_hostile(a, root_file)
    assert d.ok and d.verdict.confidence < 1.0
    assert d.redirect == f"https://localhost:{b}/login"
    assert any(u.what == f"the redirect's target, https://localhost:{b}/login" for u in d.could_not_check)
    assert "REDIRECT-TOKEN" not in str(d.could_not_check) and "REDIRECT-TOKEN" not in str(d.observations)


def test_a_redirect_within_the_origin_is_not_a_second_server(authorities, root_file) -> None:
    with serving(origin(authorities, location="/login?next=/")) as a:
        d = diagnose_hostile(a, root_file)
    assert d.ok and d.redirect == f"https://127.0.0.1:{a}/login"
    assert not any("redirect" in u.what for u in d.could_not_check)


def test_follow_diagnoses_each_hop_and_fails_on_the_broken_one(authorities, root_file, clean_env,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    with serving(origin(authorities, expired=True)) as b:
        with serving(origin(authorities, location=f"https://localhost:{b}/next")) as a:
            url = f"https://127.0.0.1:{a}/"
            assert main(["diagnose", url, "--ca-bundle", str(root_file), "--timeout", "1", "--json"]) == 0
            alone = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
            assert main(["diagnose", url, "--ca-bundle", str(root_file), "--timeout", "1", "--json", "-L"]) == 1
            hops = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(alone) == 1 and alone[0]["verdict"]["code"] == "ok"
    assert [h["verdict"]["code"] for h in hops] == ["ok", "cert.expired"]
    assert hops[0]["observations"]["http"][next(k for k, v in hops[0]["observations"]["http"].items() if v)][
        "location"] == f"https://localhost:{b}/next"


def test_follow_stops_at_a_loop(authorities, root_file, clean_env, capsys: pytest.CaptureFixture[str]) -> None:
    with serving(origin(authorities, location="/")) as a:  # a redirect to itself
        assert main(["diagnose", f"https://127.0.0.1:{a}/", "--ca-bundle", str(root_file), "--timeout", "1",
                     "--json", "--follow"]) == 0
        assert len(capsys.readouterr().out.splitlines()) == 1


def test_follow_is_for_one_url(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    urls = tmp_path / "urls.txt"
    urls.write_text("https://127.0.0.1:9/\n")
    assert main(["diagnose", "--batch", str(urls), "--follow"]) == 2
    assert "--follow" in capsys.readouterr().err
