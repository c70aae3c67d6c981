"""tlsdoctor.client: ship a libcurl HTTP stack beside the platform one, safely.

    from tlsdoctor.client import Client, Rollout, Reporter, JsonLinesSink

    reporter = Reporter([JsonLinesSink(state_dir / "reports")])
    rollout = Rollout(payload=state_dir / "rollout.json", install_id=install_id(state_dir))
    with Client(state_dir=state_dir, rollout=rollout, reporter=reporter) as client:
        response = client.get("https://api.example.com/")

See docs/migrating-to-libcurl.md for the whole story: stacks, fallback policy, rollout,
shadow validation and reports.
"""

from tlsdoctor.client.client import Client
from tlsdoctor.client.errors import TransportError
from tlsdoctor.client.events import EventListener
from tlsdoctor.client.policy import FALLBACK_POLICY, Action
from tlsdoctor.client.report import JsonLinesSink, Reporter, SentrySink, read_reports
from tlsdoctor.client.rollout import Cohort, Rollout, install_id, rollout_payload
from tlsdoctor.client.sink import HttpSink
from tlsdoctor.client.stack import Request, Response, Stack
from tlsdoctor.client.usage import UsageWriter, build_usage

__all__ = [
    "Action", "Client", "Cohort", "EventListener", "FALLBACK_POLICY", "HttpSink", "JsonLinesSink", "Reporter", "Request",
    "Response", "Rollout", "SentrySink", "Stack", "TransportError", "install_id", "read_reports",
    "rollout_payload", "UsageWriter", "build_usage",
]
