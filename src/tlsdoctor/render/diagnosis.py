"""A diagnosis for people (rich on a terminal, plain text in a pipe) and for programs (``tlsdoctor.diagnosis/1`` JSON)."""

from __future__ import annotations

import json
import re
from typing import Any

from tlsdoctor.diagnosis import Diagnosis
from tlsdoctor.findings import Severity
from tlsdoctor.judge.verdict import further_causes
from tlsdoctor.observe.observations import Observations, describe_cert

SCHEMA = "tlsdoctor.diagnosis/1"


def diagnosis_document(d: Diagnosis) -> dict[str, Any]:
    target = d.route.target
    verdict = d.verdict
    return {
        "schema": SCHEMA,
        "target": {"url": target.url, "host": target.host, "port": target.port, "proxy": d.route.proxy_url},
        "verdict": {
            "code": verdict.code,
            "summary": verdict.summary,
            "remedy": verdict.remedy,
            "curl_code": verdict.curl_code,
            "nel_type": verdict.nel_type,
            "page": finding_page(verdict.code),
            "further_causes": [{"code": f.code, "summary": f.summary, "remedy": f.remedy}
                               for f in further_causes(verdict, d.findings)],
        },
        "findings": [f.to_dict() for f in d.findings],
        "could_not_check": [u.to_dict() for u in d.could_not_check],
        "observations": observations_document(d.observations),
        "elapsed_ms": d.elapsed_ms,
        "timeout_s": d.timeout,
        "deadline_s": d.deadline,
    }


def diagnosis_json(d: Diagnosis, *, indent: int | None = None) -> str:
    return json.dumps(diagnosis_document(d), indent=indent, default=str)


def observations_document(obs: Observations) -> dict[str, Any]:
    """The facts, as plain JSON: what a support engineer checks the verdict against."""
    doc: dict[str, Any] = {
        "local_time": obs.local_time.isoformat(),
        "connections": obs.connections,
        "client": {"ca_bundle": obs.client.ca_bundle, "extra_ca": list(obs.client.extra_ca),
                   "max_tls": obs.client.max_tls},
        "proxy_source": obs.route.proxy.source if obs.route.proxy else None,
        "no_proxy_match": obs.route.bypassed_by,
        "notes": list(obs.notes),
        "cut_by_deadline": [name for name, _why in obs.cut],
    }
    if obs.resolution:
        doc["dns"] = {"addresses": list(obs.resolution.addresses), "error": obs.resolution.error,
                      "ms": obs.resolution.elapsed_ms, "pinned": obs.resolution.pinned}
    if obs.proxy_resolution:
        doc["proxy_dns"] = {"addresses": list(obs.proxy_resolution.addresses), "error": obs.proxy_resolution.error}
    if obs.tcp:
        doc["tcp"] = [{"address": t.address, "outcome": t.outcome, "ms": t.elapsed_ms} for t in obs.tcp]
    for key, seen in (("first_answer", obs.first_answer), ("proxy_first_answer", obs.proxy_answer)):
        if seen and seen.answer:
            a = seen.answer
            doc[key] = {"kind": a.kind.name.lower(), "text": a.text_preview,
                        "alert": int(a.alert_description) if a.alert_description is not None else None,
                        "http_status": a.http_status, "http_location": a.http_location}
    proxy_hs = obs.proxy_handshake
    if proxy_hs:
        client = obs.proxy_trust.client_now[0] if obs.proxy_trust and obs.proxy_trust.client_now else None
        doc["proxy_tls"] = {"ok": proxy_hs.ok, "version": proxy_hs.version, "error": proxy_hs.error,
                            "presented_chain": [describe_cert(c) for c in proxy_hs.presented_chain],
                            "client_accepts": client.ok if client else None,
                            "client_error": client.error if client else None}
    hs = obs.handshake
    if hs:
        doc["tls"] = {"ok": hs.ok, "version": hs.version, "cipher": hs.cipher, "alpn": hs.alpn, "error": hs.error,
                      "ocsp_stapled": hs.ocsp_staple is not None,
                      "presented_chain": [describe_cert(c) for c in hs.presented_chain]}
        if hs.route_error:
            doc["route_error"] = {"stage": hs.route_error.stage, "message": hs.route_error.message}
    if obs.capabilities:
        c = obs.capabilities
        doc["capabilities"] = {"versions_accepted": list(c.versions_accepted), "ciphers": dict(c.ciphers_negotiated),
                               "default_client_ok": c.default_client_ok,
                               "default_client_versions": list(c.default_client_versions),
                               "suites_accepted": {v: list(n) for v, n in c.suites_accepted.items()},
                               "suites_list_complete": c.suites_complete, "families": dict(c.families),
                               "groups": list(c.groups_selected), "dh_prime_bits": c.dh_prime_bits,
                               "hellos": c.connections,
                               "default_client_hello_bytes": c.default_client_hello_bytes,
                               "default_client_key_shares": list(c.default_client_key_shares),
                               # null: not asked (only after a large hello got no answer at all)
                               "small_hello": ({"bytes": c.small_hello.sent_bytes, "answered": c.small_hello.accepted,
                                                "error": c.small_hello.error} if c.small_hello else None)}
    if obs.trust:
        t = obs.trust
        doc["trust"] = {
            "sources": [{"name": s.name, "description": s.description, "path": s.path,
                         "certificates": len(s.certificates), "error": s.error, "notes": list(s.notes),
                         "malformed_entries": list(s.malformed)} for s in t.sources],
            "validations": [{"source": v.source, "at": v.at.isoformat(), "name_checked": v.name_checked,
                             "ok": v.ok, "error": v.error, "anchor": v.anchor}
                            for v in (*t.client_now, *t.chain_only_now, *t.chain_only_server_time)],
            "openssl": ({"ok": t.openssl_client.ok, "verify_code": t.openssl_client.verify_code,
                         "message": t.openssl_client.message} if t.openssl_client else None),
            "ca_file_problems": [{"index": p.index, "line": p.line, "problem": p.problem, "detail": p.detail}
                                 for p in (t.lint.problems if t.lint else ())],
        }
    if obs.http:
        h = obs.http
        # null for a protocol not asked; via_libcurl: libcurl's own answer, read instead of a HEAD;
        # fault: what came instead of an answer (observe/http.py).
        doc["http"] = {name: ({"status": e.status, "date": e.date.isoformat() if e.date else None, "error": e.error,
                               "via_libcurl": e.via_libcurl, "fault": e.fault, "location": e.location,
                               "h2_error_code": e.h2_error_code} if e else None)
                       for name, e in (("http1", h.http1), ("h2", h.h2))}
        if h.date:
            doc["clock"] = {"local_time": obs.local_time.isoformat(), "server_date": h.date.isoformat(),
                            "offset_s": int((obs.local_time - h.date).total_seconds())}
    if obs.revocation:
        r = obs.revocation
        doc["revocation"] = {
            "must_staple": r.must_staple, "ocsp_url": r.ocsp_url, "crl_url": r.crl_url,
            "staple": r.staple.status if r.staple else None,
            "responder": (r.responder.status or r.responder.error) if r.responder else None,
            "crl_listed": r.crl.listed if r.crl else None,
        }
    if obs.curl:
        doc["libcurl"] = {"curl_code": obs.curl.curl_code, "error": obs.curl.error,
                          "verify_result": obs.curl.verify_result, "http_status": obs.curl.http_status,
                          "http_version": obs.curl.http_version}
    return doc


_MARK: dict[Severity, Segment] = {Severity.ERROR: ("✗", "red"), Severity.WARNING: ("!", "yellow"),
                                  Severity.INFO: ("✓", "green")}


def finding_page(code: str) -> str:
    """Where the cause's page is: one per finding code, generated from the code (render/finding_docs.py)."""
    return f"docs/findings/{code}.md"


def libcurl_major() -> int | None:
    try:
        import pycurl

        return int(pycurl.version_info()[1].split(".")[0])
    except Exception:  # noqa: BLE001 - no libcurl here: the line then names every code
        return None


def curl_codes_words(spec_curl: str, major: int | None) -> str:
    """What libcurl returns for a cause, from the contract's column ("56 (libcurl 7) / 7 (libcurl 8)").

    Said for *this* libcurl, with an older major's code as a note, so that "curl 7" from
    libcurl 8 never reads as contradicting an expected 56 (issue 10).
    """
    parts = [p.strip() for p in spec_curl.split("/")]
    versioned: dict[int, str] = {}
    plain: list[str] = []
    for part in parts:
        m = re.fullmatch(r"(\d+) \(libcurl (\d+)\)", part)
        if m:
            versioned[int(m.group(2))] = m.group(1)
        else:
            plain.append(part)
    if versioned:
        mine = versioned.get(major) if major is not None else None
        if mine is None:
            return " · ".join(f"curl {c} from libcurl {v}" for v, c in sorted(versioned.items()))
        older = [f"libcurl {v} returned {c}" for v, c in sorted(versioned.items()) if v != major]
        return f"curl {mine} from this libcurl ({major}.x)" + (f"; {', '.join(older)}" if older else "")
    return "curl " + " or ".join(plain)


# A printed line is a run of (text, style) segments: rich styles them on a terminal, a pipe
# gets the bare text (render/console.PlainConsole), and no text ever passes through markup.
Segment = tuple[str, str]


def print_diagnosis(d: Diagnosis, console: Any) -> None:
    """The diagnosis for a person, on a rich ``Console`` or a :class:`~tlsdoctor.render.console.PlainConsole`."""
    from tlsdoctor.findings import FINDING_CODES

    def line(*segments: Segment | str) -> None:
        _emit(console, [(s, "") if isinstance(s, str) else s for s in segments])

    v = d.verdict
    target = d.route.target
    via = f" via {d.route.proxy_url}" if d.route.proxy else ""
    line(_MARK[v.severity], " ", (target.url, "bold"), via, ": ", (v.code, "bold"))
    line(f"  {v.summary}")
    if v.remedy:
        line("  ", ("Fix:", "bold"), f" {v.remedy}")
    line("  ", ("About this cause:", "dim"), f" {finding_page(v.code)}")
    further = further_causes(v, d.findings)
    if further:
        line("  ", ("Also in the way", "bold"), " — a client would still meet these after fixing the first:")
        for f in further:
            fix = (" ", ("Fix:", "bold"), f" {f.remedy}") if f.remedy else ()
            line("    ", _MARK[f.severity], " ", (f.code, "bold"), f": {f.summary}", *fix,
                 " ", (f"({finding_page(f.code)})", "dim"))
    if v.evidence:
        _print_evidence(v.evidence, console)
    curl = d.observations.curl
    said = f"curl {curl.curl_code}" + (f" ({curl.error})" if curl and curl.error else "") if curl else "not run"
    entry = FINDING_CODES.get(v.code)
    expected = curl_codes_words(entry.curl, libcurl_major()) if entry else f"curl {v.curl_code}"
    line("  ", ("libcurl said:", "dim"), f" {said} · ", (f"for {v.code}:", "dim"), f" {expected} · ",
         ("NEL:", "dim"), f" {v.nel_type} · ", ("confidence", "dim"), f" {v.confidence:.2f}")
    unchecked = d.could_not_check
    if unchecked:
        line("  ", ("Could not check:", "yellow"))
        for item in unchecked[:8]:
            line("    ", ("?", "yellow"), f" {item.what}: {item.why}")
    others = [f for f in d.findings if f is not v and f not in further]
    if others:
        line("  ", ("Also:", "dim"))
        for f in others[:10]:
            line("    ", _MARK[f.severity], f" {f.code} ({f.confidence:.2f}): {f.summary}")
    line("  ", (f"{d.observations.connections} connections, {d.elapsed_ms:.0f} ms", "dim"))


def _emit(console: Any, segments: list[Segment]) -> None:
    if not hasattr(console, "print_text"):  # rich: imported only when printing to it
        from rich.text import Text

        console.print(Text.assemble(*segments))
    else:
        console.print_text("".join(text for text, _style in segments))


def _print_evidence(evidence: dict[str, Any], console: Any) -> None:
    items = [(key, _short(value)) for key, value in list(evidence.items())[:12]]
    if not console.is_terminal:  # piped: plain lines, no padding to align a column
        for key, value in items:
            _emit(console, [(f"    {key}: {value}", "")])
        return
    from rich.table import Table
    from rich.text import Text

    table = Table(show_header=False, box=None, padding=(0, 1, 0, 4))
    table.add_column(no_wrap=True)
    table.add_column(overflow="fold")
    for key, value in items:
        table.add_row(Text(key, style="dim"), Text(value))
    console.print(table)


def _short(value: object, limit: int = 140) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"
