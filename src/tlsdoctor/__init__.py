"""tlsdoctor: diagnose, reproduce and survive HTTPS failures on machines you do not control."""

from __future__ import annotations

__version__ = "0.1.0"

# Not `from typing import ...`: every command, `tlsdoctor --version` included, imports this
# package first, and typing alone is ~10 ms of a ~40 ms interpreter start (issue 9).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from tlsdoctor.diagnosis import Diagnosis


def diagnose(url: str, **options: Any) -> "Diagnosis":
    """Diagnose ``url`` (see :func:`tlsdoctor.diagnosis.diagnose_async` for the options)."""
    from tlsdoctor.diagnosis import diagnose as _diagnose

    return _diagnose(url, **options)


async def diagnose_async(url: str, **options: Any) -> "Diagnosis":
    """The async twin of :func:`diagnose`."""
    from tlsdoctor.diagnosis import diagnose_async as _diagnose_async

    return await _diagnose_async(url, **options)


__all__ = ["__version__", "diagnose", "diagnose_async"]
