"""The fallback policy: for each finding code, what a failed request may do next.

One table, like the classification table, so the whole policy reads in one screen and a
change to it is one line. The rules it encodes (see docs/migrating-to-libcurl.md):

- TLS handshake failures (``tls.*``, curl 35) and broken HTTP/2 depend on the stack's TLS
  library and settings: **retry on the other stack**.
- Certificate and trust failures depend on what the stack trusts: **retry only on a stack
  with a different trust source** (never with verification off — no such path exists).
- DNS, TCP and proxy failures are usually the network's, not the stack's: **check with
  the other stack**, and report the failure only if the other one works.
- An answer that is not HTTP, or none (curl 52, 8): **check with the other stack** too; its
  parser may accept what libcurl refuses, and that difference is worth a report.
- HTTP errors and a working request: nothing to do.

A body that may have reached the server is not sent twice unless the method is idempotent.
"""

from __future__ import annotations

from enum import Enum

from tlsdoctor.findings import FINDING_CODES


class Action(str, Enum):
    RETRY_OTHER_STACK = "retry-other-stack"
    RETRY_IF_OTHER_TRUST = "retry-if-other-trust"
    CHECK_OTHER_STACK = "check-other-stack"
    NONE = "none"


def _action(code: str) -> Action:
    if code.startswith("tls.") or code == "http2.negotiation_failed":
        return Action.RETRY_OTHER_STACK
    if code.startswith(("cert.", "trust.")) or code == "clock.skewed":
        return Action.RETRY_IF_OTHER_TRUST
    if code.startswith(("dns.", "tcp.", "proxy.")):
        return Action.CHECK_OTHER_STACK
    return Action.NONE


FALLBACK_POLICY: dict[str, Action] = {code: _action(code) for code in FINDING_CODES}
# A revoked certificate is revoked for every stack: trying elsewhere only hides it.
FALLBACK_POLICY["cert.revoked"] = Action.NONE
# An answer that is not HTTP (or none): the server's fault as a rule, but the other stack's parser
# may accept what libcurl refuses (HTTP/0.9, a header without a colon): check, report only then.
FALLBACK_POLICY["http.invalid_response"] = Action.CHECK_OTHER_STACK
# An HTTP error is an answer; the upstream proxy's 502 likewise.
FALLBACK_POLICY["proxy.upstream_failed"] = Action.NONE


def decide(code: str, *, same_trust: bool, idempotent: bool, may_have_reached_server: bool) -> tuple[Action, str]:
    """The action for a failure with ``code``, and why, in words for the event listener."""
    action = FALLBACK_POLICY.get(code, Action.NONE)
    if action is Action.NONE:
        return action, f"policy: no fallback for {code}"
    if may_have_reached_server and not idempotent:
        return Action.NONE, "the request body may have reached the server and the method is not idempotent"
    if action is Action.RETRY_IF_OTHER_TRUST and same_trust:
        return Action.NONE, "the other stack trusts the same CAs: it would fail the same way"
    return action, f"policy: {action.value} for {code}"
