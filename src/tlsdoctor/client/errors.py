"""The one exception a failed request raises, named through the one classification table."""

from __future__ import annotations

from tlsdoctor.classify import Signal, classify
from tlsdoctor.findings import finding_code


class TransportError(Exception):
    """The request never got an HTTP answer. ``code`` is a finding code (docs/spec/findings.md)."""

    def __init__(self, message: str, *, code: str, stack: str, curl_code: int | None = None,
                 debug: str = "", may_have_reached_server: bool = False,
                 presented_chain: tuple[dict[str, str], ...] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.stack = stack
        self.curl_code = curl_code if curl_code is not None else finding_code(code).curl_code
        self.nel_type = finding_code(code).nel_type
        self._debug = debug  # the stack's raw debug text: redacted when read, off the request path
        self.may_have_reached_server = may_have_reached_server
        # The chain the peer presented, as the stack kept it (curl: CERTINFO on a verify failure);
        # a report turns it into outcome.presented_issuer (client/report/issuer.py).
        self.presented_chain = presented_chain

    @property
    def debug(self) -> str:
        """The stack's debug text (libcurl's verbose lines), redacted; ``""`` when not captured."""
        from tlsdoctor.redact import redact_text

        return redact_text(self._debug) if self._debug else ""

    def __str__(self) -> str:
        return f"{self.code} (curl {self.curl_code}) on {self.stack}: {self.message}"


# Added to a timeout's message by the stacks when the connection and TLS were up: the answer
# was late, not the network (classify reads it as http.timed_out).
ANSWER_LATE = "the connection and TLS were up; the HTTP answer did not come in time"
# ... and when the server reset the connection after TLS, before answering (http.invalid_response).
ANSWER_RESET = "the connection and TLS were up; the server reset it before answering"
# libcurl's 60 for the certificate of an HTTPS proxy (CURLINFO_PROXY_SSL_VERIFYRESULT), not the server's.
AT_PROXY = "at the HTTPS proxy: its own certificate, checked with CURLOPT_PROXY_CAINFO"

# A stack's error text is at most a few hundred characters (libcurl's error buffer holds 256), but a
# hostile server can put 16 KB of status line into an httpx error. The classification table's
# patterns see a bounded prefix, and the exception keeps a bounded message: the request thread
# never spends more than a few milliseconds on what the server chose to send.
MESSAGE_CHARS = 2048


def transport_error(message: str, *, stack: str, curl_code: int | None = None, verify_result: int | None = None,
                    errno: str | None = None, connect_status: int | None = None, condition: str | None = None,
                    debug: str = "",
                    may_have_reached_server: bool = False,
                    presented_chain: tuple[dict[str, str], ...] = ()) -> TransportError:
    """Build the exception, naming its code with :func:`tlsdoctor.classify.classify` (no second table)."""
    if len(message) > MESSAGE_CHARS:
        from tlsdoctor.redact import bounded  # a cut through a URL's userinfo would hide it from redaction

        kept = bounded(message, MESSAGE_CHARS)
        message = kept + f"... ({len(message) - len(kept)} more characters)"
    candidates = classify(Signal(curl_code=curl_code, verify_result=verify_result, errno=errno,
                                 connect_status=connect_status, condition=condition, text=message[:MESSAGE_CHARS]))
    code = candidates[0].code if candidates else "tls.handshake_alert"
    return TransportError(message, code=code, stack=stack, curl_code=curl_code, debug=debug,
                          may_have_reached_server=may_have_reached_server, presented_chain=presented_chain)
