"""Failure reports: ``tlsdoctor.report/1`` events, on disk as JSON Lines and, optionally, in Sentry.

A migration to libcurl is only safe if the failures it causes in the field come back with the
facts that explain them (which stack, which curl code, was a proxy configured, which HTTP
version, how far off the clock was). One concept per module:

- :mod:`.event` — :func:`build_report` produces exactly the ``tlsdoctor.report/1`` shape of
  ``docs/spec/diagnosis-json.md`` and is the privacy boundary (:func:`scrub`, on
  :mod:`tlsdoctor.redact`); :class:`PendingReport` defers that work to the reporter's thread.
- :mod:`.reporter` — :class:`Reporter` owns a bounded queue and one daemon thread that builds
  events and hands them to the sinks. :meth:`Reporter.report` never blocks and never raises: a
  full queue drops and counts (the count goes into the next report as ``reports_dropped_before``
  and is readable through :meth:`Reporter.counters`), a failing sink is counted.
- :mod:`.jsonlines` — :class:`JsonLinesSink` appends one event per line, rotated and bounded,
  readable after a crash; :func:`read_reports` reads the files back.
- :mod:`.sentry` — :class:`SentrySink` sends each event through a *dedicated* ``sentry_sdk``
  client, so a host application's own Sentry setup is neither replaced nor fed our events.

Sampling (which successes become ``sample`` reports) is the caller's decision;
:func:`should_sample` is the one helper for it, so every caller samples the same way.
"""

from tlsdoctor.client.origin import origin_of
from tlsdoctor.client.report.event import (
    COHORT_KEYS,
    ENVIRONMENT_KEYS,
    FALLBACK_KEYS,
    FALLBACK_OPTIONAL_KEYS,
    MESSAGE_CAP,
    OUTCOME_KEYS,
    REPORT_KINDS,
    REPORT_SCHEMA,
    TIMING_KEYS,
    PendingReport,
    build_report,
    scrub,
    scrub_strings,
    should_sample,
)
# The field shapers client/usage.py (usage/1, the fleet helper's) shares with build_report.
from tlsdoctor.client.report.event import _flag, _integer, _text, _timestamp  # noqa: F401
from tlsdoctor.client.report.jsonlines import JsonLinesSink, read_reports
from tlsdoctor.client.report.reporter import DROPPED_FIELD, Reporter, ReporterCounters, ReportSink
from tlsdoctor.client.report.sentry import SentrySink

__all__ = [
    "COHORT_KEYS", "DROPPED_FIELD", "ENVIRONMENT_KEYS", "FALLBACK_KEYS", "FALLBACK_OPTIONAL_KEYS", "MESSAGE_CAP", "OUTCOME_KEYS",
    "REPORT_KINDS", "REPORT_SCHEMA", "TIMING_KEYS", "JsonLinesSink", "PendingReport", "ReportSink", "Reporter",
    "ReporterCounters", "SentrySink", "build_report", "origin_of", "read_reports", "scrub", "scrub_strings",
    "should_sample",
]
