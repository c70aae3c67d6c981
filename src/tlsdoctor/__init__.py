"""tlsdoctor: diagnose, reproduce and survive HTTPS failures on machines you do not control."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
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
