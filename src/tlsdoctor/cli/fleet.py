"""``tlsdoctor fleet simulate|causes|gate|report|convert``: from a fleet's reports to decisions.

The library is :mod:`tlsdoctor.fleet`; docs/fleet.md tells the story, docs/fleet-at-scale.md
the Spark side.
"""

from __future__ import annotations

import argparse
from typing import Any

from tlsdoctor.cli.common import EXIT_FAILED, EXIT_OK, Command, UsageError, add_command, add_json, positive_int, subcommands

EXIT_HOLD = 3


def _day(text: str) -> str:
    from datetime import date

    try:
        return date.fromisoformat(text).isoformat()
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def _share(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"must be in [0, 1), not {text}")
    return value


def _coverage(text: str) -> float:
    value = _share(text) if text.strip() not in ("1", "1.0") else 1.0
    return value


def _inputs(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="+", metavar="PATH",
                        help="JSON Lines (.jsonl, .jsonl.gz) or Parquet files, directories or globs")
    parser.add_argument("--since", type=_day, metavar="DATE", help="only days from DATE on (UTC)")
    parser.add_argument("--until", type=_day, metavar="DATE", help="only days up to DATE (UTC)")
    parser.add_argument("--engine", choices=("duckdb", "spark"), default="duckdb",
                        help="where the queries run: embedded DuckDB, or Apache Spark")
    parser.add_argument("--spark-master", default="local[2]", metavar="URL",
                        help="the Spark master for --engine spark (local[N], spark://host:7077, yarn)")


def _configure_simulate(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("out", metavar="OUT", help="directory to write <day>/reports.jsonl, <day>/usage.jsonl into")
    parser.add_argument("--installs", type=positive_int, required=True, help="installs in the fleet")
    parser.add_argument("--days", type=positive_int, required=True, help="days to simulate")
    parser.add_argument("--seed", type=int, default=0, help="the random seed (same seed, same files)")
    parser.add_argument("--coverage", type=_coverage, default=0.5, help="share of installs the rollout puts on curl")
    parser.add_argument("--regress", metavar="CODE:POINTS[:STACK]",
                        help="inject a regression: POINTS more percent of STACK's (default curl) installs see CODE")
    parser.add_argument("--start", type=_day, default="2026-11-02", help="the first simulated day")
    parser.add_argument("--lose-usage", type=_share, default=0.0, metavar="SHARE",
                        help="lose this share of usage documents in transit (seq gaps)")
    parser.add_argument("--drop-reports", type=_share, default=0.0, metavar="SHARE",
                        help="drop this share of reports in the clients' queues (counted in usage)")


def _configure_causes(parser: argparse.ArgumentParser) -> None:
    _inputs(parser)
    add_json(parser, "tlsdoctor.fleet-causes/1")


def _configure_gate(parser: argparse.ArgumentParser) -> None:
    _inputs(parser)
    parser.add_argument("--payload", required=True, metavar="FEATURES.json",
                        help="the GrowthBook payload the clients read (tlsdoctor rollout make)")
    parser.add_argument("--feature", default="http-stack", help="the GrowthBook feature key")
    parser.add_argument("--treatment", default="curl", help="the cohort value being rolled out")
    parser.add_argument("--control", default="native", help="the cohort value it is compared with")
    parser.add_argument("--max-regression", type=float, default=1.0, metavar="PP",
                        help="the regression (percentage points of installs) the team accepts")
    parser.add_argument("--stages", default="1,3,5,10,25,50,100", help="coverage steps, in percent")
    parser.add_argument("--horizon-days", type=positive_int, default=1,
                        help="days each install is observed from its first day in its cohort")
    parser.add_argument("--min-installs", type=positive_int, default=200, help="installs each cohort needs")
    parser.add_argument("--write", action="store_true",
                        help="update the payload: next stage on advance, kill switch on rollback")
    add_json(parser, "tlsdoctor.fleet-gate/1")


def _configure_report(parser: argparse.ArgumentParser) -> None:
    _inputs(parser)
    parser.add_argument("--html", required=True, metavar="OUT.html", help="the page to write")
    parser.add_argument("--payload", metavar="FEATURES.json", help="the payload, to show the gate's step")
    parser.add_argument("--treatment", default="curl", help="the cohort value being rolled out")
    parser.add_argument("--control", default="native", help="the cohort value it is compared with")


def _configure_convert(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="+", metavar="PATH", help="JSON Lines files, directories or globs")
    parser.add_argument("--out", required=True, metavar="DIR", help="write DIR/<table>/<day>.parquet")


SIMULATE = Command("simulate", "write a synthetic fleet through the client's own writers", _configure_simulate,
                   {EXIT_OK: "the fleet was written"})
CAUSES = Command("causes", "root causes across a fleet, per stack, with the environments that concentrate them",
                 _configure_causes, {EXIT_OK: "the causes were printed"})
GATE = Command("gate", "advance, hold or roll back the rollout from the fleet's data", _configure_gate,
               {EXIT_OK: "advance", EXIT_FAILED: "rollback", EXIT_HOLD: "hold (the reasons say why)"})
REPORT = Command("report", "one self-contained HTML page: failures over time, causes, the gate", _configure_report,
                 {EXIT_OK: "the page was written"})
CONVERT = Command("convert", "turn JSON Lines into the Parquet layout the engines read fastest", _configure_convert,
                  {EXIT_OK: "the Parquet files were written"})


def configure(parser: argparse.ArgumentParser) -> None:
    verbs = subcommands(parser, "verb")
    for command in (SIMULATE, CAUSES, GATE, REPORT, CONVERT):
        add_command(verbs, command)


COMMAND = Command(
    "fleet", "turn a fleet's reports and usage counters into root causes and rollout decisions", configure,
    {EXIT_OK: "see the verb's --help", EXIT_FAILED: "gate: rollback", EXIT_HOLD: "gate: hold"},
    description="Read the tlsdoctor.report/1 and tlsdoctor.usage/1 documents of a fleet (JSON Lines or "
                "Parquet) on DuckDB or Spark: root causes, an anytime-valid rollout gate, an HTML report "
                "(docs/fleet.md).",
)


def run(args: argparse.Namespace) -> int:
    try:
        if args.verb == "simulate":
            return _simulate(args)
        if args.verb == "convert":
            return _convert(args)
        return _analyse(args)
    except ImportError as exc:
        raise UsageError(f"needs the fleet extra ({exc.name} is missing): pip install 'tlsdoctor[fleet]'") from None


def _simulate(args: argparse.Namespace) -> int:
    from datetime import date

    from tlsdoctor.fleet.simulate import Regression, simulate
    from tlsdoctor.render.progress import progress

    try:
        regression = Regression.parse(args.regress) if args.regress else None
        with progress("simulating installs", total=args.installs) as bar:
            def advanced(done: int, total: int) -> None:
                bar.advance(done - bar.completed)

            truth = simulate(args.out, installs=args.installs, days=args.days, seed=args.seed,
                             coverage=args.coverage, regression=regression, start=date.fromisoformat(args.start),
                             lose_usage=args.lose_usage, drop_reports=args.drop_reports, progress=advanced)
    except (ValueError, OSError) as exc:
        raise UsageError(str(exc)) from None
    print(f"{truth.installs} installs, {truth.days} days: {truth.usage_documents} usage documents, "
          f"{truth.reports} reports in {args.out} (cohorts {truth.cohorts}; {truth.regressed} regressed)")
    return EXIT_OK


def _convert(args: argparse.Namespace) -> int:
    from tlsdoctor.fleet.convert import convert
    from tlsdoctor.fleet.sources import SourceError, find

    try:
        counts = convert(find(args.paths).jsonl, args.out)
    except (SourceError, OSError) as exc:
        raise UsageError(str(exc)) from None
    print(", ".join(f"{rows} {name} rows" for name, rows in counts.items()) + f" in {args.out}")
    return EXIT_OK


def _window(args: argparse.Namespace) -> "object":
    from tlsdoctor.fleet.layout import day_number
    from tlsdoctor.fleet.queries import Window

    return Window(day_number(args.since) if args.since else None, day_number(args.until) if args.until else None)


def _analyse(args: argparse.Namespace) -> int:
    from tlsdoctor.fleet.engine import Engine
    from tlsdoctor.fleet.sources import SourceError, find

    payload = None
    if args.verb == "gate":
        from tlsdoctor.fleet.gate import GateOptions, load_payload, parse_stages

        try:
            options = GateOptions(treatment=args.treatment, control=args.control, feature=args.feature,
                                  max_regression_pp=args.max_regression, stages=parse_stages(args.stages),
                                  horizon_days=args.horizon_days, min_installs=args.min_installs)
            payload = load_payload(args.payload, args.feature)
        except (OSError, ValueError) as exc:
            raise UsageError(f"--payload {args.payload}: {exc}" if not isinstance(exc, ValueError)
                             or "stages" not in str(exc) else str(exc)) from None
    elif args.verb == "report" and args.payload:
        from tlsdoctor.fleet.gate import load_payload

        try:
            payload = load_payload(args.payload, "http-stack")
        except (OSError, ValueError) as exc:
            raise UsageError(f"--payload {args.payload}: {exc}") from None
    try:
        sources = find(args.paths, allow_remote=args.engine == "spark")
    except SourceError as exc:
        raise UsageError(str(exc)) from None
    from tlsdoctor.render.progress import progress

    with progress(f"fleet {args.verb}", spinner_only=True) as bar:
        bar.note(f"starting {args.engine}")
        try:
            engine = Engine(args.engine, spark_master=args.spark_master)
        except Exception as exc:  # noqa: BLE001 - Java missing, master unreachable: one line, exit 2
            first = str(exc).splitlines()[0] if str(exc) else repr(exc)
            raise UsageError(f"cannot start the {args.engine} engine: {first}") from None
        with engine:
            bar.note(f"reading {len(sources.jsonl)} JSON Lines files" if sources.jsonl else "registering Parquet")
            tables, _ = engine.load(sources)
            bar.note("querying")
            return _answer(args, engine, tables, payload, options if args.verb == "gate" else None)


def _answer(args: argparse.Namespace, engine: Any, tables: Any, payload: Any, options: Any) -> int:
    import json

    window = _window(args)
    if args.verb == "causes":
        from tlsdoctor.fleet.causes import fleet_causes
        from tlsdoctor.render.fleet import print_causes

        doc = fleet_causes(engine, tables, window)
        if args.json:
            print(json.dumps(doc, indent=2))
        else:
            print_causes(doc)
        return EXIT_OK
    if args.verb == "gate":
        from tlsdoctor.fleet.gate import EXIT_CODES, fleet_gate, write_payload
        from tlsdoctor.render.fleet import print_gate

        doc = fleet_gate(engine, tables, options, window, payload=payload)
        if args.write:
            try:
                write_payload(args.payload, payload, doc, args.feature)
            except (OSError, ValueError) as exc:
                raise UsageError(f"--write {args.payload}: {exc}") from None
        if args.json:
            print(json.dumps(doc, indent=2))
        else:
            print_gate(doc)
        return EXIT_CODES[doc["decision"]]
    from tlsdoctor.fleet.html import write_report

    try:
        write_report(engine, tables, args.html, window=window, payload=payload,
                     treatment=args.treatment, control=args.control)
    except OSError as exc:
        raise UsageError(f"--html {args.html}: {exc.strerror or exc}") from None
    print(f"wrote {args.html}")
    return EXIT_OK


__all__ = ["COMMAND", "run"]
