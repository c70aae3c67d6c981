"""Hooks into the client's life, like OkHttp's EventListener: subclass and override what you need.

Every method has a no-op default, so a listener implements only what it watches. A
listener that raises never breaks a request (the client catches and ignores it).
"""

from __future__ import annotations

from typing import Any, Callable, Mapping

from tlsdoctor.client.errors import TransportError
from tlsdoctor.client.stack import Request, Response


class EventListener:
    def request_start(self, request: Request, stack: str) -> None: ...

    def dns(self, request: Request, stack: str, ms: float) -> None: ...

    def connect(self, request: Request, stack: str, ms: float) -> None: ...

    def tls(self, request: Request, stack: str, ms: float) -> None: ...

    def response(self, request: Request, response: Response) -> None: ...

    def failure(self, request: Request, error: TransportError) -> None: ...

    def retry_decision(self, request: Request, error: TransportError, action: str, reason: str) -> None: ...

    def fallback(self, request: Request, from_stack: str, to_stack: str, error: TransportError) -> None: ...

    def validation(self, request: Request, verdict: str, outcomes: Mapping[str, str]) -> None: ...

    def stack_unavailable(self, stack: str, message: str) -> None:
        """A stack's library did not load on this machine; requests use the other stack."""


def phase_events(listener: EventListener, request: Request, stack: str, timings: Mapping[str, float]) -> None:
    """Turn a stack's timings into dns/connect/tls events (cumulative → per phase)."""
    dns, connect, tls = timings.get("dns"), timings.get("connect"), timings.get("tls")
    if dns is not None:
        listener.dns(request, stack, dns)
    if connect is not None:
        listener.connect(request, stack, max(connect - (dns or 0.0), 0.0))
    if tls:
        listener.tls(request, stack, max(tls - (connect or 0.0), 0.0))


class SafeListener:
    """A listener wrapper whose methods swallow the listener's exceptions."""

    def __init__(self, listener: EventListener) -> None:
        self._listener = listener

    def __getattr__(self, name: str) -> Callable[..., None]:
        method = getattr(self._listener, name)

        def call(*args: Any) -> None:
            try:
                method(*args)
            except Exception:  # noqa: BLE001
                pass

        return call
