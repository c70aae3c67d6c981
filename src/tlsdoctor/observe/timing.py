"""How long a probe step took: one rounding, one clock, for every probe."""

from __future__ import annotations

import time


def elapsed_ms(started: float) -> float:
    """Milliseconds since ``started`` (a ``time.perf_counter()`` reading), to 0.1 ms."""
    return round((time.perf_counter() - started) * 1000, 1)
