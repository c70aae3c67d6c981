"""``tlsdoctor fleet report --html``: one self-contained page a team can attach to a ticket.

Three views, all inline SVG drawn here (no charting library, no network, no CDN):

1. failures per 1,000 active installs per day, one line per stack and kind (any failure, and
   what the user saw);
2. root causes side by side: each cause's share of each stack's active installs;
3. the gate: decision, estimate and its anytime-valid interval against 0 and the accepted
   regression.

The page's Content-Security-Policy forbids every load (``default-src 'none'``) and allows only
its own inline style and one inline script by hash: a page that tried to fetch anything would
fail visibly (a console error, which the Chromium test looks for). The script only marks the
page as rendered and counts the charts' series, so a test can tell that it ran. Each series
carries its values in ``data-*`` attributes, so tests (and curious users) read the numbers from
the DOM rather than from pixels.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
from collections import defaultdict
from pathlib import Path
from typing import Any

from tlsdoctor.fleet import queries
from tlsdoctor.fleet.causes import fleet_causes
from tlsdoctor.fleet.engine import Engine, Tables
from tlsdoctor.fleet.gate import GateOptions, fleet_gate
from tlsdoctor.fleet.queries import Window

COLORS = {"curl": "#1f77b4", "native": "#d62728"}
_SCRIPT = """
document.addEventListener("DOMContentLoaded", function () {
  var series = document.querySelectorAll("[data-series]");
  series.forEach(function (node) {
    var values = JSON.parse(node.getAttribute("data-values"));
    node.setAttribute("data-rendered", String(values.length));
  });
  document.documentElement.setAttribute("data-series-count", String(series.length));
});
""".strip()


def _concentrated(cause: dict[str, Any]) -> str:
    """The facets that concentrate a cause, and for interception the CAs that sign (by installs)."""
    parts = [f"{f['facet']}={f['value']}" for f in cause["facets"][:2]]
    parts += [f"CA {i['name']} ({i['installs']})" for i in cause.get("interceptors", [])[:3]]
    return ", ".join(parts)


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def timeline(engine: Engine, tables: Tables, window: Window) -> dict[str, list[dict[str, Any]]]:
    """Per stack: per day, active installs and installs with a failure / a visible failure."""
    active = {(row["day"], row["stack"]): row["active_installs"]
              for row in engine.rows(queries.daily_active(tables, window))}
    failing = {(row["day"], row["stack"]): row for row in engine.rows(queries.daily_failing(tables, window))}
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for (day, stack), n in sorted(active.items()):
        row = failing.get((day, stack), {})
        out[stack].append({
            "day": day, "active_installs": n,
            "failing_per_1000": round(1000 * row.get("failing_installs", 0) / n, 3) if n else None,
            "visible_per_1000": round(1000 * row.get("visible_installs", 0) / n, 3) if n else None,
        })
    return dict(out)


def _line_chart(series: dict[str, list[tuple[str, float]]], title: str) -> str:
    width, height, left, bottom, top, right = 760, 280, 56, 40, 20, 150
    days = sorted({day for points in series.values() for day, _ in points})
    peak = max([value for points in series.values() for _, value in points] + [1.0])
    plot_w, plot_h = width - left - right, height - top - bottom

    def x(day: str) -> float:
        return left + (plot_w * days.index(day) / max(len(days) - 1, 1))

    def y(value: float) -> float:
        return top + plot_h - plot_h * value / peak

    parts = [f'<svg class="chart" role="img" aria-label="{_e(title)}" viewBox="0 0 {width} {height}" '
             f'width="{width}" height="{height}">']
    parts.append(f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" class="axis"/>')
    parts.append(f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + plot_h}" class="axis"/>')
    for tick in range(5):
        value = peak * tick / 4
        parts.append(f'<text x="{left - 6}" y="{y(value) + 4:.1f}" class="tick" text-anchor="end">{value:.0f}</text>')
    step = max(1, len(days) // 8)
    for index, day in enumerate(days):
        if index % step == 0:
            parts.append(f'<text x="{x(day):.1f}" y="{top + plot_h + 16}" class="tick" text-anchor="middle">'
                         f'{_e(day[5:])}</text>')
    for number, (name, points) in enumerate(sorted(series.items())):
        stack, _, kind = name.partition(" ")
        color = COLORS.get(stack, "#555")
        dash = ' stroke-dasharray="5,4"' if "any" in kind else ""
        coords = " ".join(f"{x(day):.1f},{y(value):.1f}" for day, value in points)
        values = json.dumps([value for _, value in points])
        parts.append(f'<polyline data-series="{_e(name)}" data-days="{_e(json.dumps([d for d, _ in points]))}" '
                     f'data-values="{_e(values)}" points="{coords}" fill="none" stroke="{color}" '
                     f'stroke-width="2"{dash}><title>{_e(name)}</title></polyline>')
        for day, value in points:
            parts.append(f'<circle cx="{x(day):.1f}" cy="{y(value):.1f}" r="2.5" fill="{color}">'
                         f'<title>{_e(name)} {_e(day)}: {value:g} per 1,000</title></circle>')
        ly = top + 14 + 18 * number
        parts.append(f'<line x1="{left + plot_w + 12}" y1="{ly - 4}" x2="{left + plot_w + 32}" y2="{ly - 4}" '
                     f'stroke="{color}" stroke-width="2"{dash}/>')
        parts.append(f'<text x="{left + plot_w + 38}" y="{ly}" class="legend">{_e(name)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _causes_chart(causes: dict[str, Any], stacks: list[str], top: int = 12) -> str:
    by_code: dict[str, dict[str, float]] = defaultdict(dict)
    installs: dict[str, int] = defaultdict(int)
    for cause in causes["causes"]:
        by_code[cause["code"]][cause["stack"]] = cause["share_of_active_installs"] or 0.0
        installs[cause["code"]] += cause["installs"]
    codes = sorted(by_code, key=lambda c: (-installs[c], c))[:top]
    peak = max([share for shares in by_code.values() for share in shares.values()] + [0.001])
    row_h, bar_h, left, width = 18 * len(stacks) + 10, 16, 210, 760
    height = 24 + row_h * len(codes)
    parts = [f'<svg class="chart" role="img" aria-label="root causes by stack" viewBox="0 0 {width} {height}" '
             f'width="{width}" height="{height}">']
    for stack_index, stack in enumerate(stacks):
        parts.append(f'<rect x="{left + 150 * stack_index}" y="2" width="12" height="12" fill="{COLORS.get(stack, "#555")}"/>'
                     f'<text x="{left + 150 * stack_index + 16}" y="12" class="legend">{_e(stack)}</text>')
    for index, code in enumerate(codes):
        y0 = 24 + row_h * index
        parts.append(f'<text x="{left - 8}" y="{y0 + row_h / 2 + 2:.1f}" class="label" text-anchor="end">{_e(code)}</text>')
        for stack_index, stack in enumerate(stacks):
            share = by_code[code].get(stack, 0.0)
            w = (width - left - 90) * share / peak
            y = y0 + stack_index * 18
            parts.append(f'<rect data-code="{_e(code)}" data-stack="{_e(stack)}" data-share="{share:.6f}" '
                         f'x="{left}" y="{y}" width="{w:.1f}" height="{bar_h}" fill="{COLORS.get(stack, "#555")}">'
                         f'<title>{_e(code)} on {_e(stack)}: {share:.2%} of active installs</title></rect>'
                         f'<text x="{left + w + 4:.1f}" y="{y + 12}" class="tick">{share:.2%}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _gate_chart(gate: dict[str, Any]) -> str:
    difference = gate["difference"]
    if difference["interval_pp"] is None:
        return '<p class="muted">No interval yet: a cohort has no installs observed.</p>'
    low, high = difference["interval_pp"]
    estimate, limit = difference["estimate_pp"], difference["max_regression_pp"]
    span = max(abs(low), abs(high), limit, 0.5) * 1.2
    width, height, mid = 760, 90, 380

    def x(value: float) -> float:
        return mid + (width / 2 - 30) * value / span

    color = {"rollback": "#d62728", "advance": "#2ca02c"}.get(gate["decision"], "#ff7f0e")
    return (
        f'<svg class="chart" role="img" aria-label="gate interval" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}">'
        f'<line x1="{x(0):.1f}" y1="10" x2="{x(0):.1f}" y2="70" class="axis"/>'
        f'<text x="{x(0):.1f}" y="84" class="tick" text-anchor="middle">0</text>'
        f'<line x1="{x(limit):.1f}" y1="10" x2="{x(limit):.1f}" y2="70" stroke="#999" stroke-dasharray="4,3"/>'
        f'<text x="{x(limit):.1f}" y="84" class="tick" text-anchor="middle">+{limit:g} accepted</text>'
        f'<line data-series="gate interval" data-values="{_e(json.dumps([low, estimate, high]))}" '
        f'x1="{x(low):.1f}" y1="40" x2="{x(high):.1f}" y2="40" stroke="{color}" stroke-width="6">'
        f'<title>{low:+.2f} .. {high:+.2f} points</title></line>'
        f'<circle cx="{x(estimate):.1f}" cy="40" r="6" fill="#222"><title>{estimate:+.2f} points</title></circle>'
        f"</svg>"
    )


def _pct(value: float | None, digits: int) -> str:
    return "-" if value is None else f"{value:.{digits}%}"


def render(causes: dict[str, Any], gate: dict[str, Any], days: dict[str, list[dict[str, Any]]]) -> str:
    """The page, as a string (deterministic for the same documents)."""
    series: dict[str, list[tuple[str, float]]] = {}
    for stack, rows in days.items():
        series[f"{stack} visible"] = [(r["day"], r["visible_per_1000"]) for r in rows]
        series[f"{stack} any"] = [(r["day"], r["failing_per_1000"]) for r in rows]
    stacks = sorted(causes["stacks"])
    script_hash = base64.b64encode(hashlib.sha256(_SCRIPT.encode()).digest()).decode()
    csp = f"default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-{script_hash}'; img-src data:"
    window = causes["window"]
    rows = "".join(
        f"<tr><td>{_e(c['code'])}</td><td>{_e(c['stack'])}</td><td class=n>{c['installs']}</td>"
        f"<td class=n>{(c['share_of_active_installs'] or 0):.2%}</td><td class=n>{c['events']}</td>"
        f"<td class=n>{c['visible_events']}</td><td>{_e(_concentrated(c))}</td></tr>"
        for c in causes["causes"][:30]
    )
    reasons = "".join(f"<li>{_e(r)}</li>" for r in gate["reasons"])
    cohorts = "".join(
        f"<tr><td>{_e(name)}</td><td class=n>{row['installs']}</td><td class=n>{_pct(row['share'], 2)}</td>"
        f"<td class=n>{_pct(row['failure_rate'], 3)}</td></tr>"
        for name, row in gate["cohorts"].items()
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{_e(csp)}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>tlsdoctor fleet report {_e(window['first_day'])} .. {_e(window['last_day'])}</title>
<style>
body {{ font: 14px/1.45 system-ui, sans-serif; margin: 24px auto; max-width: 980px; color: #222; }}
h1 {{ font-size: 20px; }} h2 {{ font-size: 16px; margin-top: 28px; }}
table {{ border-collapse: collapse; }} td, th {{ padding: 2px 10px; border-bottom: 1px solid #eee; text-align: left; }}
td.n {{ text-align: right; font-variant-numeric: tabular-nums; }}
.axis {{ stroke: #444; }} .tick, .legend, .label {{ font-size: 11px; fill: #333; }}
.decision {{ font-weight: bold; text-transform: uppercase; }} .muted {{ color: #777; }}
</style></head>
<body>
<h1>tlsdoctor fleet report</h1>
<p>{_e(window['first_day'])} .. {_e(window['last_day'])} · {window['usage_documents']} usage documents ·
{' · '.join(f"{_e(name)}: {row['active_installs']} active installs" for name, row in sorted(causes['stacks'].items()))}</p>
<h2>Installs with a failure, per 1,000 active installs</h2>
{_line_chart(series, "failures per 1,000 active installs")}
<p class="muted">Solid: failures the user saw (no fallback rescued them). Dashed: any failure.</p>
<h2>Root causes, share of each stack's active installs</h2>
{_causes_chart(causes, stacks)}
<table><tr><th>code</th><th>stack</th><th>installs</th><th>share</th><th>events</th><th>user saw</th><th>concentrated in</th></tr>{rows}</table>
<h2>The gate: <span class="decision" data-decision="{_e(gate['decision'])}">{_e(gate['decision'])}</span></h2>
<p>{_e(gate['treatment'])} minus {_e(gate['control'])}, share of installs with a user-visible failure, in points
({gate['difference']['confidence']:.0%} anytime-valid interval).</p>
{_gate_chart(gate)}
<ul>{reasons}</ul>
<table><tr><th>cohort</th><th>installs</th><th>with a visible failure</th><th>failure rate</th></tr>{cohorts}</table>
<script>{_SCRIPT}</script>
</body></html>
"""


def write_report(engine: Engine, tables: Tables, out: str | Path, *, window: Window = Window(),
                 payload: dict[str, Any] | None = None, treatment: str = "curl", control: str = "native") -> None:
    causes = fleet_causes(engine, tables, window)
    gate = fleet_gate(engine, tables, GateOptions(treatment=treatment, control=control), window, payload=payload)
    page = render(causes, gate, timeline(engine, tables, window))
    Path(out).write_text(page, encoding="utf-8")
