"""An injectable clock.

A wrong local clock is one of the commonest causes of "certificate expired" in the field,
and it is the one a test cannot reproduce by touching the machine's real clock. Everything
in tlsdoctor that asks "what time is it" asks a :class:`Clock`, so that a test (or the
demo) can run a client whose idea of *now* is shifted, while the lab's servers keep the
true time. For code that cannot take a clock (libcurl, OpenSSL inside ``ssl``), the lab
hands out a ``faketime`` command line instead (:func:`faketime_argv`).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Protocol

from tlsdoctor.records import record


class Clock(Protocol):
    """Anything that can say what time it is (always timezone-aware, UTC)."""

    def now(self) -> datetime: ...


class SystemClock:
    """The machine's clock, as every client on it sees it."""

    def now(self) -> datetime:
        return datetime.now(timezone.utc)


@record
class ShiftedClock:
    """The system clock moved by ``offset`` (positive: the clock runs ahead)."""

    offset: timedelta

    def now(self) -> datetime:
        return datetime.now(timezone.utc) + self.offset


SYSTEM_CLOCK: Clock = SystemClock()


def faketime_spec(offset: timedelta) -> str:
    """The libfaketime spec for a relative offset, e.g. ``+259200s``.

    Seconds are used because they are exact for any offset; libfaketime reads a leading
    sign as "relative to the real time".
    """
    seconds = int(offset.total_seconds())
    return f"{seconds:+d}s"


def faketime_argv(offset: timedelta, argv: list[str]) -> list[str]:
    """``argv`` run under the ``faketime`` tool with its clock shifted by ``offset``.

    Raises :class:`FileNotFoundError` when faketime is not installed, so that callers can
    say so in one line rather than failing later with a confusing exec error.
    """
    import shutil  # only here: it imports bz2, lzma and fnmatch, which a diagnosis never needs

    tool = shutil.which("faketime")
    if tool is None:
        raise FileNotFoundError("the faketime tool is not installed (Debian package 'faketime')")
    return [tool, "-f", faketime_spec(offset), *argv]
