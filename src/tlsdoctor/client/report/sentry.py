"""Reports as Sentry events, through a dedicated client that leaves the host application's own
Sentry setup alone."""

from __future__ import annotations

import inspect
from collections.abc import Collection, Mapping
from typing import Any, ClassVar

from tlsdoctor.client.report.event import REPORT_KINDS, scrub_strings


class SentrySink:
    """Reports as Sentry events, through a client of our own.

    ``sentry_sdk.init`` would replace the host application's client (or feed it our events), so
    the sink builds a ``sentry_sdk.Client`` and calls ``Client.capture_event(event, scope=None)``
    directly: no global hub, scope or client is created or touched, and the host's scope data
    (user, breadcrumbs, tags) never leaks into our events. The client runs with no integrations
    (nothing patched, no ``sys.argv`` or module list), PII collection off, an empty
    ``server_name`` (the SDK would send the hostname) and an explicit release (the SDK would
    otherwise run ``git`` in the working directory to guess one). ``before_send`` keeps only the
    fields this sink sets and scrubs every string again.

    Each report becomes one event: message ``tlsdoctor: {code} on {stack}``, level ``error`` for
    failures and fallbacks and ``info`` otherwise, tags for the facts people filter by, the
    fingerprint ``["tlsdoctor", code]`` (one Sentry issue per finding code, whatever the message
    says), and the report itself under ``contexts["tlsdoctor"]``.
    """

    LEVELS: ClassVar[dict[str, str]] = {"failure": "error", "fallback": "error", "validation": "info", "sample": "info"}
    _KEPT_EVENT_KEYS = frozenset(
        {"event_id", "timestamp", "level", "platform", "sdk", "release", "environment", "message",
         "logger", "tags", "fingerprint", "contexts", "type"}
    )

    def __init__(
        self,
        dsn: str,
        *,
        environment: str = "production",
        release: str | None = None,
        kinds: Collection[str] = REPORT_KINDS,
        shutdown_timeout: float = 2.0,
    ) -> None:
        import sentry_sdk  # imported here: only applications that configure a DSN need it

        self.kinds = frozenset(kinds)
        options: dict[str, Any] = {
            "dsn": dsn,
            "environment": environment,
            "release": release or "",  # "" rather than None: None makes the SDK run `git rev-parse`
            "server_name": "",
            "default_integrations": False,
            "auto_enabling_integrations": False,
            "integrations": [],
            "max_breadcrumbs": 0,
            "attach_stacktrace": False,
            "include_local_variables": False,
            "traces_sample_rate": None,
            "auto_session_tracking": False,
            "enable_backpressure_handling": False,
            "spotlight": False,
            "shutdown_timeout": shutdown_timeout,
            "before_send": self._before_send,
        }
        # PII stays off. sentry-sdk 2.x defaults send_default_pii to off, and from the releases
        # that introduced ``data_collection`` on, passing it at all is deprecated (a warning at
        # every start); older 2.x releases get the explicit False.
        if "data_collection" not in inspect.signature(sentry_sdk.consts.ClientConstructor.__init__).parameters:
            options["send_default_pii"] = False
        # Building a client rewrites the SDK-wide SDK_INFO["name"] from *its* integration list;
        # restore it so the host application's events keep naming its framework integration.
        sdk_info = getattr(getattr(sentry_sdk, "client", None), "SDK_INFO", None)
        previous_name = sdk_info.get("name") if isinstance(sdk_info, dict) else None
        try:
            self._client = sentry_sdk.Client(**options)
        finally:
            if previous_name is not None and isinstance(sdk_info, dict):
                sdk_info["name"] = previous_name

    def _before_send(self, event: dict[str, Any], hint: Mapping[str, Any]) -> dict[str, Any]:
        kept = {key: value for key, value in event.items() if key in self._KEPT_EVENT_KEYS}
        contexts = event.get("contexts") or {}
        kept["contexts"] = {"tlsdoctor": scrub_strings(contexts.get("tlsdoctor", {}))}
        for key in ("message", "tags"):
            if key in kept:
                kept[key] = scrub_strings(kept[key])
        return kept

    @staticmethod
    def _tag(value: Any) -> str:
        """Sentry tag values are non-empty single-line strings of at most 200 characters."""
        text = " ".join(str(value).split())[:200] if value is not None else ""
        return text or "none"

    def write(self, event: Mapping[str, Any]) -> None:
        """Queue ``event`` on the SDK's transport (which sends from its own thread)."""
        kind = event.get("kind")
        if kind not in self.kinds:
            return
        outcome = event.get("outcome") or {}
        cohort = event.get("cohort") or {}
        request = event.get("request") or {}
        environment = event.get("environment") or {}
        code = outcome.get("code") or ("ok" if outcome.get("ok") else "unknown")
        stack = event.get("stack") or "unknown"
        sentry_event: dict[str, Any] = {
            "message": f"tlsdoctor: {code} on {stack}",
            "level": self.LEVELS.get(str(kind), "info"),
            "logger": "tlsdoctor.client",
            "tags": {
                "stack": self._tag(stack),
                "code": self._tag(code),
                "curl_code": self._tag(outcome.get("curl_code")),
                "kind": self._tag(kind),
                "cohort": self._tag(cohort.get("value")),
                "http_version": self._tag(request.get("http_version")),
                "proxy_configured": self._tag(environment.get("proxy_configured")),
            },
            "fingerprint": ["tlsdoctor", str(code)],
            "contexts": {"tlsdoctor": dict(event)},
        }
        if event.get("app_version"):
            sentry_event["release"] = str(event["app_version"])
        self._client.capture_event(sentry_event, scope=None)

    def flush(self, timeout: float = 2.0) -> None:
        """Wait (at most ``timeout`` seconds) until queued events have been sent."""
        self._client.flush(timeout=timeout)

    def close(self, timeout: float = 2.0) -> None:
        self._client.close(timeout=timeout)
