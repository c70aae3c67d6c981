"""The attack catalogue: every misbehaving client of the field, as data.

An :class:`Attack` has a stable id, one line saying what the client does, the bug class
it finds (with the cause and the fix a server team needs), the field case it comes from,
and one small function (``round`` or ``hold``). The runner, the sanity discipline and the
outcome classification are written once (tlsfuzzer's shape: adding an attack never
touches the runner). The README's attack table and ``tlsdoctor torture --list`` are
generated from :data:`ATTACKS`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Callable

from tlsdoctor.torture import attacks as a
from tlsdoctor.torture import h2attacks as h
from tlsdoctor.torture.connection import Close


class BugClass(str, Enum):
    UNCLEAN_CLOSE_STATE = "unclean-close-state"
    WRITE_TO_RESET = "write-to-reset"
    HANDSHAKE_ABORT = "handshake-abort"
    NOT_TLS_INPUT = "not-tls-input"
    REQUEST_ABORT = "request-abort"
    BLOCKING_HANDSHAKE = "blocking-handshake"
    SLOT_EXHAUSTION = "slot-exhaustion"
    RENEGOTIATION = "renegotiation"
    H2_STREAM_FLOOD = "h2-stream-flood"
    H2_MALFORMED_FRAMES = "h2-malformed-frames"


@dataclass(frozen=True)
class BugInfo:
    """What a bug class is, in a server team's words, and how it is fixed."""

    title: str
    cause: str
    fix: str


BUGS: dict[BugClass, BugInfo] = {
    BugClass.UNCLEAN_CLOSE_STATE: BugInfo(
        "state from an uncleanly ended connection leaks into later ones",
        "a connection that ended without close_notify (or with an alert) left an error behind: "
        "typically OpenSSL's per-thread error queue, never cleared after SSL_read failed with an "
        "unexpected EOF, so the next connection's SSL calls on that thread fail",
        "call ERR_clear_error() before every SSL_* call (or after every failure), and treat "
        "SSL_ERROR_SYSCALL/SSL_ERROR_SSL as the end of that connection only",
    ),
    BugClass.WRITE_TO_RESET: BugInfo(
        "a write to a reset connection kills or wedges the server",
        "the peer's RST arrived before the server's next write; the write raised EPIPE and "
        "SIGPIPE, whose default action ends the process",
        "ignore SIGPIPE (signal(SIGPIPE, SIG_IGN)) or write with MSG_NOSIGNAL / SO_NOSIGPIPE, "
        "and treat EPIPE/ECONNRESET as that connection's end",
    ),
    BugClass.HANDSHAKE_ABORT: BugInfo(
        "a handshake cut short is not contained to its connection",
        "the error path of an aborted handshake (FIN or RST mid-handshake, half a record) "
        "leaks state, a worker or a lock",
        "treat any handshake error as the end of that connection; free its state on every "
        "error path; test with clients that vanish mid-handshake",
    ),
    BugClass.NOT_TLS_INPUT: BugInfo(
        "bytes that are not TLS break more than their own connection",
        "the server's record layer or its 'HTTP on the HTTPS port' handling fails badly on "
        "input that is not a ClientHello",
        "reject non-TLS input with an alert (or a 400) and close that connection only",
    ),
    BugClass.REQUEST_ABORT: BugInfo(
        "a request cut off mid-way is not cleaned up",
        "a handler waits for the rest of a request that will never come, or mishandles "
        "close_notify in the middle of a request",
        "bound request reading (header timeout, size), and end the request when the "
        "client's close_notify or EOF arrives",
    ),
    BugClass.BLOCKING_HANDSHAKE: BugInfo(
        "one stalled handshake blocks every client",
        "the TLS handshake runs in the accept loop (e.g. Python's http.server with a wrapped "
        "listening socket): while one client stalls mid-handshake nobody else is accepted",
        "accept, then hand the socket to the connection's own worker, which does the handshake "
        "with a timeout (seconds)",
    ),
    BugClass.SLOT_EXHAUSTION: BugInfo(
        "idle or slow connections exhaust the server's connection slots",
        "no handshake, header or idle timeout (or a generous one): connections that do no work "
        "hold workers or slots until legitimate clients are refused or queued",
        "handshake and header timeouts of seconds, an idle keep-alive timeout, a cap per client "
        "address, and shedding idle connections first when full",
    ),
    BugClass.RENEGOTIATION: BugInfo(
        "client-initiated renegotiation costs the server without bound",
        "each renegotiation is a full handshake's CPU, paid by the server at the client's will "
        "(CVE-2011-1473)",
        "refuse client-initiated renegotiation (OpenSSL: SSL_OP_NO_RENEGOTIATION, the default "
        "of modern servers) or rate-limit it",
    ),
    BugClass.H2_STREAM_FLOOD: BugInfo(
        "HTTP/2 streams opened and reset at once exhaust the server",
        "each reset stream still costs the server a request's work, but never counts against "
        "the concurrent-stream limit (HTTP/2 Rapid Reset, CVE-2023-44487)",
        "count resets per connection and GOAWAY a client that resets faster than it reads; "
        "upgrade the HTTP/2 library (fixed in nginx 1.25.3, nghttp2 1.57, Go 1.21.3...)",
    ),
    BugClass.H2_MALFORMED_FRAMES: BugInfo(
        "a malformed HTTP/2 frame breaks more than its connection",
        "the frame parser crashes, loops or leaks on a frame RFC 9113 calls a connection error",
        "treat every malformed frame as a connection error: GOAWAY(PROTOCOL_ERROR or "
        "FRAME_SIZE_ERROR), close that connection only",
    ),
}


@dataclass(frozen=True)
class Attack:
    """One misbehaving client. Exactly one of ``round`` and ``hold`` is set."""

    id: str
    summary: str
    bug_class: BugClass
    field_case: str
    round: Callable[[a.Round], str] | None = None
    hold: Callable[[a.Round], a.Held] | None = None
    closes: tuple[Close, ...] = ("fin", "rst")  # each round alternates between these
    per_version: bool = True  # over TLS 1.3 and TLS 1.2, where the server offers both
    only_version: str | None = None  # an attack that exists in one version only
    needs_h2: bool = False

    @property
    def held(self) -> bool:
        return self.hold is not None

    @property
    def bug(self) -> BugInfo:
        return BUGS[self.bug_class]

    def to_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "summary": self.summary,
            "bug_class": self.bug_class.value,
            "field_case": self.field_case,
            "held": self.held,
            "variants": list(self.closes),
            "tls_versions": [self.only_version] if self.only_version else (["1.3", "1.2"] if self.per_version else []),
            "http2": self.needs_h2,
        }


ATTACKS: tuple[Attack, ...] = (
    Attack("drop-without-close-notify", "full request and response, then close TCP with no close_notify",
           BugClass.UNCLEAN_CLOSE_STATE,
           "curl >= 8.9 closes this way after a failed host name check; a C++ REST server then gave "
           "every later client an empty reply until restarted (a stale OpenSSL error queue)",
           round=a.drop_without_close_notify),
    Attack("drop-after-handshake", "complete the handshake, send nothing, close without alert or close_notify",
           BugClass.UNCLEAN_CLOSE_STATE,
           "a client whose own verification fails after the handshake walks away like this",
           round=a.drop_after_handshake),
    Attack("alert-after-handshake", "send a fatal bad_certificate / unknown_ca alert after the server's flight",
           BugClass.UNCLEAN_CLOSE_STATE,
           "every client that rejects a certificate (pinning, a missing CA) ends the handshake this way",
           round=a.alert_after_handshake),
    Attack("rst-after-request", "send a request, then RST before reading the response",
           BugClass.WRITE_TO_RESET,
           "mobile clients killed mid-request; load balancers' health checks that reset; the "
           "server's write then meets EPIPE/SIGPIPE",
           round=a.rst_after_request, closes=("rst",)),
    Attack("fin-after-clienthello", "send a ClientHello, then close (FIN) before the server's answer",
           BugClass.HANDSHAKE_ABORT,
           "port scanners, TLS fingerprinting tools and impatient clients",
           round=a.fin_after_clienthello, closes=("fin",)),
    Attack("rst-after-clienthello", "send a ClientHello, then reset (RST) before the server's answer",
           BugClass.HANDSHAKE_ABORT,
           "filtering middleboxes and killed clients; the ServerHello meets a reset socket",
           round=a.rst_after_clienthello, closes=("rst",)),
    Attack("partial-clienthello", "half a ClientHello record, then close",
           BugClass.HANDSHAKE_ABORT,
           "clients on lossy links and scanners that probe record parsing",
           round=a.partial_clienthello),
    Attack("garbage", "random bytes instead of a ClientHello",
           BugClass.NOT_TLS_INPUT,
           "scanners, misconfigured clients speaking another protocol to the port",
           round=a.garbage, per_version=False),
    Attack("plaintext-http", "a plain HTTP request on the TLS port",
           BugClass.NOT_TLS_INPUT,
           "http:// links to an https-only port; health checks configured without TLS",
           round=a.plaintext_http, per_version=False),
    Attack("truncated-request", "half an HTTP request, then close_notify",
           BugClass.REQUEST_ABORT,
           "clients that time out or are cancelled while sending headers",
           round=a.truncated_request),
    Attack("stalled-handshakes", "K ClientHellos that never continue, held open during sanity requests",
           BugClass.BLOCKING_HANDSHAKE,
           "Python's http.server wrapped in ssl: one stalled client blocks everyone",
           hold=a.stalled_handshakes, per_version=False),
    Attack("idle-connections", "K completed TLS connections that never send a request, held open",
           BugClass.SLOT_EXHAUSTION,
           "browsers' pre-connects and pooled clients that open and never use connections",
           hold=a.idle_connections, per_version=False, closes=("fin",)),
    Attack("slow-request", "K requests sent one header byte per interval, held open",
           BugClass.SLOT_EXHAUSTION,
           "slowloris (2009), and clients on very slow links",
           hold=a.slow_request, per_version=False, closes=("fin",)),
    Attack("renegotiation", "client-initiated renegotiation on TLS 1.2, bounded per round",
           BugClass.RENEGOTIATION,
           "THC-SSL-DOS (CVE-2011-1473)",
           round=a.renegotiation, only_version="1.2", closes=("fin",)),
    Attack("h2-rapid-reset", "HTTP/2 streams opened and reset at once, bounded per round",
           BugClass.H2_STREAM_FLOOD,
           "HTTP/2 Rapid Reset (CVE-2023-44487), 2023's record DDoS",
           round=h.h2_rapid_reset, needs_h2=True, per_version=False, closes=("fin",)),
    Attack("h2-bad-frames", "malformed HTTP/2 frames (a different one each round)",
           BugClass.H2_MALFORMED_FRAMES,
           "fuzzers and broken clients; HTTP/2 frame parsers have crashed on each of these",
           round=h.h2_bad_frames, needs_h2=True, per_version=False, closes=("fin",)),
)

BY_ID: dict[str, Attack] = {attack.id: attack for attack in ATTACKS}


def attack(attack_id: str) -> Attack:
    """The catalogue entry for ``attack_id``; KeyError names the known ids."""
    try:
        return BY_ID[attack_id]
    except KeyError:
        raise KeyError(f"unknown attack {attack_id!r}; known: {', '.join(BY_ID)}") from None


def markdown_table() -> str:
    """The README's attack table."""
    lines = ["| attack | what the client does | bug class it finds | field case |", "|---|---|---|---|"]
    for entry in ATTACKS:
        lines.append(f"| `{entry.id}` | {entry.summary} | `{entry.bug_class.value}`: {entry.bug.title} | {entry.field_case} |")
    return "\n".join(lines)


if __name__ == "__main__":  # python -m tlsdoctor.torture.catalogue: the README's table
    print(markdown_table())
