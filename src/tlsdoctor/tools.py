"""Finding external programs tlsdoctor runs but never imports (mitmdump, sslyze, nginx).

Such tools live in their own virtual environments because they pin library versions
tlsdoctor cannot share (mitmproxy and sslyze pin older ``cryptography``). The install
script links them beside tlsdoctor's own interpreter; elsewhere they may be on PATH, or
named by an environment variable (``TLSDOCTOR_MITMDUMP``, ``TLSDOCTOR_SSLYZE``, ...).
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path


class ToolMissing(RuntimeError):
    """An external program tlsdoctor needs for this feature is not installed."""


def find_tool(name: str, *, extra: tuple[str, ...] = ()) -> Path | None:
    """The first executable ``name``: env override, beside our interpreter, PATH, ``extra``."""
    candidates: list[str | None] = [
        os.environ.get(f"TLSDOCTOR_{name.upper()}"),
        str(Path(sys.executable).parent / name),
        shutil.which(name),
        *extra,
    ]
    for candidate in candidates:
        if candidate and os.access(candidate, os.X_OK) and Path(candidate).is_file():
            return Path(candidate)
    return None


def require_tool(name: str, *, hint: str, extra: tuple[str, ...] = ()) -> Path:
    path = find_tool(name, extra=extra)
    if path is None:
        raise ToolMissing(f"{name} is not installed ({hint})")
    return path
