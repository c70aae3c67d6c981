"""How the lab, its catalogue and its live check are shown: terminal tables, JSON, Markdown."""

from __future__ import annotations

import json
from typing import Iterable

from rich.console import Console
from rich.table import Table

from tlsdoctor.lab.check import CheckResult
from tlsdoctor.lab.runner import Lab
from tlsdoctor.lab.scenarios import Scenario
from tlsdoctor.render.console import make_console  # noqa: F401 - older callers import it from here

LAB_SCHEMA = "tlsdoctor.lab/1"
CATALOGUE_SCHEMA = "tlsdoctor.catalogue/1"


def lab_document(lab: Lab) -> dict[str, object]:
    """The running lab for scripts: where each scenario is and what it reproduces."""
    return {
        "schema": LAB_SCHEMA,
        "run_dir": str(lab.run_dir),
        "ca_services": lab.services_url,
        "scenarios": [entry.to_dict() for entry in lab],
    }


def lab_json(lab: Lab) -> str:
    return json.dumps(lab_document(lab), separators=(",", ":"))


def lab_table(lab: Lab, console: Console, *, duration: float | None = None) -> None:
    table = Table(title=f"tlsdoctor lab — {len(list(lab))} scenarios on 127.0.0.1", title_justify="left")
    for column in ("scenario", "URL", "proxy", "finding", "curl"):
        table.add_column(column, no_wrap=True)
    table.add_column("what is broken", overflow="fold")
    for entry in lab:
        table.add_row(
            entry.id, entry.url, entry.proxy or "", entry.code, str(entry.curl_code), entry.scenario.description
        )
    console.print(table)
    console.print(f"CA file (lab root): {lab.scenarios[next(iter(lab)).id].ca_file.parent}/ca-lab.pem")
    console.print(f"Stops after {duration:g} s." if duration else "Press Ctrl-C to stop.")


def catalogue_json(catalogue: Iterable[Scenario]) -> str:
    return json.dumps({"schema": CATALOGUE_SCHEMA, "scenarios": [s.to_dict() for s in catalogue]}, indent=2)


def catalogue_markdown(catalogue: Iterable[Scenario]) -> str:
    """The README's catalogue table (generated, so that it cannot drift from the code)."""
    lines = [
        "| scenario | what is broken | finding | curl | client set-up |",
        "|---|---|---|---|---|",
    ]
    for s in catalogue:
        setup = _client_setup_words(s)
        description = s.description + (f" — *{s.note}*" if s.note else "")
        lines.append(f"| `{s.id}` | {description} | `{s.code}` | {s.curl_code} | {setup} |")
    return "\n".join(lines) + "\n"


def _client_setup_words(s: Scenario) -> str:
    c = s.client
    words = []
    if c.trust != "lab":
        words.append({"lab+interception": "CA file also holds the interception CA", "corrupt": "corrupt CA file",
                      "store": "CA file is the lab's current store",
                      "store-outdated": "CA file is an old copy of the lab's store"}[c.trust])
    if c.os_store != "lab":
        words.append("the OS store is the lab's current store" if c.os_store == "store" else f"OS store: {c.os_store}")
    if s.via:
        words.append(f"through the proxy, to `{s.via}`")
    if c.max_tls:
        words.append(f"TLS ≤ {c.max_tls}")
    if c.cert_status:
        words.append("requires OCSP stapling (`--cert-status`)")
    if c.crl:
        words.append("checks the CRL (`--crlfile`)")
    if c.clock_offset:
        words.append(f"clock {int(c.clock_offset.total_seconds() // 86400)} days ahead")
    return "; ".join(words) or "trusts the lab root"


def check_table(results: list[CheckResult], console: Console, *, title: str) -> None:
    table = Table(title=title, title_justify="left")
    for column in ("scenario", "finding", "expected curl", "libcurl said", "verify", "ms"):
        table.add_column(column, no_wrap=True)
    table.add_column("", overflow="fold")
    for r in results:
        s = r.scenario.scenario
        if r.result is None:
            table.add_row(s.id, s.code, str(s.curl_code), "—", "", "", f"[yellow]skipped: {r.skipped}[/]")
            continue
        got = f"{r.result.curl_code}" + (f" (HTTP {r.result.http_status})" if r.result.http_status else "")
        mark = "[green]as expected[/]" if r.matches else f"[red]MISMATCH[/] {r.result.error[:60]}"
        table.add_row(s.id, s.code, str(s.curl_code), got, str(r.result.verify_result), f"{r.elapsed_ms:.0f}", mark)
    console.print(table)
