"""How the lab, its catalogue and its live check are shown: terminal tables, JSON, Markdown."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Callable, Iterable

from typing import TYPE_CHECKING

from tlsdoctor.render.console import make_console  # noqa: F401 - older callers import it from here
from tlsdoctor.render.table import Column, FitTable, styled

if TYPE_CHECKING:
    from rich.console import Console

    from tlsdoctor.lab.check import CheckResult
    from tlsdoctor.lab.runner import Lab
    from tlsdoctor.lab.scenarios import Scenario

LAB_SCHEMA = "tlsdoctor.lab/1"
CATALOGUE_SCHEMA = "tlsdoctor.catalogue/1"
CHECK_SCHEMA = "tlsdoctor.check/1"


def lab_document(lab: Lab) -> dict[str, object]:
    """The running lab for scripts: where each scenario is and what it reproduces."""
    return {
        "schema": LAB_SCHEMA,
        "run_dir": str(lab.run_dir),
        "ca_services": lab.services_url,
        "scenarios": [entry.to_dict() for entry in lab],
        "fragile": [server.to_dict() for server in lab.fragile.values()],
    }


def lab_json(lab: Lab) -> str:
    return json.dumps(lab_document(lab), separators=(",", ":"))


def lab_table(lab: Lab, console: Console, *, duration: float | None = None) -> None:
    """Where each scenario is, what it reproduces, and how a client must be set up to meet it."""
    entries = list(lab)
    table = FitTable([
        Column("scenario"), Column("URL"), Column("proxy", priority=1), Column("finding", priority=2),
        Column("curl", priority=3, justify="right"), Column("client set-up", wrap=True),
        Column("what is broken", wrap=True),
    ], title=f"tlsdoctor lab — {len(entries)} scenarios on 127.0.0.1")
    for entry in entries:
        table.add_row(entry.id, entry.url, entry.proxy or "", entry.code, str(entry.curl_code),
                      client_setup_words(entry.scenario, ca_file=entry.ca_file.name, code=str),
                      entry.scenario.description)
    for server in lab.fragile.values():  # not diagnosis scenarios: buggy servers for tlsdoctor torture
        table.add_row(server.id, server.url, "", "", "", f"CA file {server.ca_file.name}",
                      f"(fragile, for tlsdoctor torture) {server.description}")
    table.print(console)
    console.print(f"CA files and CRL: {lab.run_dir}", soft_wrap=True, markup=False, highlight=False)
    console.print(f"Stops after {duration:g} s." if duration else "Press Ctrl-C to stop.")


def catalogue_table(catalogue: Iterable[Scenario], console: Console) -> None:
    table = FitTable([Column("scenario"), Column("finding"), Column("curl", priority=2, justify="right"),
                      Column("client set-up", wrap=True, priority=1), Column("what is broken", wrap=True)])
    for s in catalogue:
        table.add_row(s.id, s.code, str(s.curl_code), client_setup_words(s, code=str), s.description)
    table.print(console)


def catalogue_json(catalogue: Iterable[Scenario]) -> str:
    return json.dumps({"schema": CATALOGUE_SCHEMA, "scenarios": [s.to_dict() for s in catalogue]}, indent=2)


def catalogue_markdown(catalogue: Iterable[Scenario]) -> str:
    """The README's catalogue table (generated, so that it cannot drift from the code)."""
    lines = [
        "| scenario | what is broken | finding | curl | client set-up |",
        "|---|---|---|---|---|",
    ]
    for s in catalogue:
        setup = client_setup_words(s) or "trusts the lab root"
        description = s.description + (f" — *{s.note}*" if s.note else "")
        lines.append(f"| `{s.id}` | {description} | `{s.code}` | {s.curl_code} | {setup} |")
    return "\n".join(lines) + "\n"


def client_setup_words(s: Scenario, *, ca_file: str | None = None, code: Callable[[str], str] = "`{}`".format) -> str:
    """How a client meets the fault, in words: which CA file, proxy, TLS cap, revocation, clock."""
    c = s.client
    words = []
    if ca_file:
        words.append(f"CA file {code(ca_file)}")
    if c.trust != "lab":
        words.append({"lab+interception": "CA file also holds the interception CA", "corrupt": "corrupt CA file",
                      "lab-expired": "CA file holds an expired copy of the lab root",
                      "lab-utf16": "CA file is the lab root saved as UTF-16",
                      "store": "CA file is the lab's current store",
                      "store-outdated": "CA file is an old copy of the lab's store"}[c.trust])
    if c.os_store != "lab":
        words.append({"store": "the OS store is the lab's current store",
                      "lab-expired": "so does the OS store"}.get(c.os_store, f"OS store: {c.os_store}"))
    if s.via:
        scheme = {"https": " (set as an https:// URL)", "socks5h": " (SOCKS5, set as a socks5h:// URL)"}.get(c.proxy_scheme, "")
        words.append(f"through the proxy{scheme}, to {code(s.via)}")
    if c.max_tls:
        words.append(f"TLS ≤ {c.max_tls}" + (f" ({code('--max-tls ' + c.max_tls)})" if ca_file else ""))
    if c.cert_status:
        words.append(f"requires OCSP stapling ({code('--cert-status')})")
    if c.crl:
        words.append(f"checks the CRL ({code('--crlfile')})")
    if c.clock_offset:
        words.append(f"clock {human_duration(c.clock_offset)} {'ahead' if c.clock_offset.total_seconds() > 0 else 'behind'}")
    return "; ".join(words) or ("trusts the lab root" if ca_file is None else "")


def human_duration(delta: timedelta) -> str:
    """A duration rounded to the nearest whole unit: a 3-day shift reads "3 days", however measured."""
    seconds = abs(delta.total_seconds())
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size * 1.5 or unit == "minute":
            n = max(1, round(seconds / size))
            return f"{n} {unit}{'s' if n != 1 else ''}"
    raise AssertionError("unreachable")


def check_table(results: list[CheckResult], console: Console, *, title: str) -> None:
    table = FitTable([
        Column("scenario"), Column("finding", priority=2), Column("expected curl", priority=1, justify="right"),
        Column("libcurl said"), Column("verify", priority=3, justify="right"), Column("ms", priority=4, justify="right"),
        Column("result", wrap=True),
    ], title=title)
    for r in results:
        s = r.scenario.scenario
        if r.result is None:
            table.add_row(s.id, s.code, str(s.curl_code), "—", "", "", styled(f"skipped: {r.skipped}", "yellow"))
            continue
        got = f"{r.result.curl_code}" + (f" (HTTP {r.result.http_status})" if r.result.http_status else "")
        mark = styled("as expected", "green") if r.matches else styled(f"MISMATCH {r.result.error[:60]}", "red")
        table.add_row(s.id, s.code, str(s.curl_code), got, str(r.result.verify_result), f"{r.elapsed_ms:.0f}", mark)
    table.print(console)


def check_document(results: list[CheckResult], *, startup_s: float, elapsed_s: float) -> dict[str, object]:
    """``tlsdoctor check --json``: each scenario's expectation beside what libcurl did."""
    ran = [r for r in results if r.result is not None]
    return {
        "schema": CHECK_SCHEMA,
        "lab_startup_ms": round(startup_s * 1000, 1),
        "elapsed_ms": round(elapsed_s * 1000, 1),
        "matched": sum(r.matches for r in ran),
        "ran": len(ran),
        "skipped": len(results) - len(ran),
        "scenarios": [
            {
                "id": r.scenario.id,
                "code": r.scenario.code,
                "expected": {"curl_code": r.scenario.scenario.curl_code,
                             "verify_result": r.scenario.scenario.curl_verify_result,
                             "http_status": r.scenario.scenario.http_status},
                "libcurl": ({"curl_code": r.result.curl_code, "verify_result": r.result.verify_result,
                             "http_status": r.result.http_status, "error": r.result.error}
                            if r.result is not None else None),
                "matches": r.matches,
                "skipped": r.skipped or None,
                "elapsed_ms": round(r.elapsed_ms, 1),
            }
            for r in results
        ],
    }
