"""``fleet report --html`` in a real headless Chromium: no console errors, the charts hold the series.

The page is loaded from a file with every network access of the browser's own switched off;
its Content-Security-Policy blocks any load, so a page that tried to fetch something would log
a console error. Chromium prints console messages to standard error (``--enable-logging=stderr
--log-level=0``) as ``CONSOLE`` lines, and ``--dump-dom`` prints the DOM after its script ran.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from tlsdoctor.cli import main
from tlsdoctor.fleet.causes import fleet_causes
from tlsdoctor.fleet.engine import Engine
from tlsdoctor.fleet.html import timeline
from tlsdoctor.fleet.queries import Window
from tlsdoctor.fleet.sources import find

pytestmark = pytest.mark.chromium
Fleet = Any  # the session fixtures of conftest.py


def chromium(page: Path, profile: Path) -> tuple[str, list[str]]:
    """(the DOM after load, the console lines) of ``page`` in headless Chromium."""
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    assert binary, "Debian's chromium is needed (scripts/install.sh installs it)"
    result = subprocess.run(
        [binary, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync",
         "--disable-background-networking", "--disable-component-update", "--disable-default-apps",
         f"--user-data-dir={profile}", "--enable-logging=stderr", "--log-level=0",
         "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout, [line for line in result.stderr.splitlines() if ":CONSOLE" in line]


class Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, dict(attrs)))


def elements(dom: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = Elements()
    parser.feed(dom)
    return parser.found


@pytest.fixture(scope="module")
def page(small_fleet: Fleet, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("html") / "report.html"
    assert main(["fleet", "report", str(small_fleet.path), "--html", str(out),
                 "--payload", str(small_fleet.payload)]) == 0
    return out


def test_the_page_loads_without_console_errors_and_its_charts_hold_the_series(
        page: Path, small_fleet: Fleet, tmp_path: Path) -> None:
    text = page.read_text()
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", text)  # nothing to fetch
    dom, console = chromium(page, tmp_path / "profile")
    assert console == []
    found = elements(dom)
    [html_tag] = [attrs for tag, attrs in found if tag == "html"]
    series = {attrs["data-series"]: attrs for _, attrs in found if attrs.get("data-series")}
    assert html_tag.get("data-series-count") == str(len(series)) == "5"  # the inline script ran

    with Engine("duckdb") as engine:
        tables, _ = engine.load(find([small_fleet.path]))
        days = timeline(engine, tables, Window())
        causes = fleet_causes(engine, tables)
    for stack in ("curl", "native"):
        for kind, key in (("visible", "visible_per_1000"), ("any", "failing_per_1000")):
            attrs = series[f"{stack} {kind}"]
            assert json.loads(attrs["data-values"] or "") == [row[key] for row in days[stack]]
            assert attrs["data-rendered"] == str(small_fleet.truth.days)
    bars = {(a["data-code"], a["data-stack"]): float(a["data-share"] or 0) for t, a in found if a.get("data-code")}
    for cause in causes["causes"]:
        assert bars[(cause["code"], cause["stack"])] == pytest.approx(cause["share_of_active_installs"], abs=1e-6)
    assert bars[("trust.interception", "native")] == 0.0
    [decision] = [a["data-decision"] for _, a in found if a.get("data-decision")]
    low, estimate, high = json.loads(series["gate interval"]["data-values"] or "")
    assert decision in ("advance", "hold", "rollback") and low <= estimate <= high


def test_the_console_check_sees_a_page_that_breaks_its_policy(page: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken.html"
    broken.write_text(page.read_text().replace(
        "</body>", '<img src="http://127.0.0.1:9/x.png"><script>notDefined()</script></body>'))
    _, console = chromium(broken, tmp_path / "profile")
    assert any("Content Security Policy" in line for line in console)
