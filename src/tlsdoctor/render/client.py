"""``tlsdoctor get``'s trail: which stack was chosen, what failed, what fell back (on stderr)."""

from __future__ import annotations

from typing import Any, TextIO

from tlsdoctor.client.errors import TransportError
from tlsdoctor.client.events import EventListener
from tlsdoctor.client.stack import Request, Response


class TrailPrinter(EventListener):
    def __init__(self, out: TextIO | None, *, verbose: bool) -> None:
        self.out, self.verbose = out, verbose

    def _say(self, text: str) -> None:
        import sys

        # sys.stderr looked up now, not kept: while a progress line is live, rich replaces it so
        # that these lines print above the line instead of through it.
        print(f"* {text}", file=sys.stderr if self.out is None else self.out, flush=True)

    def decision(self, stack: str, cohort: dict[str, Any] | None) -> None:
        why = f" (rollout rule {cohort['rule']})" if cohort and cohort.get("rule") not in (None, "explicit") else ""
        self._say(f"stack: {stack}{why}")

    def request_start(self, request: Request, stack: str) -> None:
        if self.verbose:
            self._say(f"{stack}: {request.method} {request.url.split('?', 1)[0]}")

    def failure(self, request: Request, error: TransportError) -> None:
        self._say(f"{error.stack} failed: {error.code} (curl {error.curl_code}): {error.message}")

    def retry_decision(self, request: Request, error: TransportError, action: str, reason: str) -> None:
        self._say(f"decision: {action} — {reason}")

    def fallback(self, request: Request, from_stack: str, to_stack: str, error: TransportError) -> None:
        self._say(f"fallback: {from_stack} -> {to_stack}")

    def tls(self, request: Request, stack: str, ms: float) -> None:
        if self.verbose:
            self._say(f"{stack}: TLS in {ms:.1f} ms")

    def failed(self, error: TransportError) -> None:
        self._say(f"request failed: {error}. `tlsdoctor diagnose URL` names the root cause.")

    def done(self, response: Response) -> None:
        self._say(f"HTTP/{response.http_version} {response.status} via {response.stack}")
        if self.verbose:
            for name, value in response.headers:
                self._say(f"  {name}: {value}")


GET_SCHEMA = "tlsdoctor.get/1"


def get_document(url: str, response: Response | None, error: TransportError | None) -> dict[str, Any]:
    """``tlsdoctor get --json``: what answered (or why nothing did), without the body or secrets."""
    from tlsdoctor.redact import redact_headers, redact_text, redact_url

    doc: dict[str, Any] = {"schema": GET_SCHEMA, "url": redact_url(url), "ok": response is not None and response.status < 400}
    if response is not None:
        doc.update(stack=response.stack, status=response.status, http_version=response.http_version,
                   final_url=redact_url(response.url), headers=[list(h) for h in redact_headers(response.headers)],
                   body_bytes=len(response.body), timings_ms=dict(response.timings_ms), error=None)
    elif error is not None:
        doc.update(stack=error.stack, status=None, error={
            "code": error.code, "curl_code": error.curl_code, "nel_type": error.nel_type,
            "message": redact_text(error.message)})
    return doc
