"""One recogniser per ecosystem: each a table from that ecosystem's error words to shared signals.

Order matters only for docs (docs/explain.md lists them in this order); every recogniser
reads every text, and the trust of each spelling (not the order) decides between readings.
To add one: write a module with a ``RECOGNISER`` (see base.py), add it here, run
``python -m tlsdoctor.explain.docs docs/explain.md``, and add corpus cases.
"""

from __future__ import annotations

from tlsdoctor.explain.recognisers import (
    apple, chrome, containers, curl, dotnet, firefox, git, go, java, node, openssl, powershell, python, rust, safari,
    wget, windows,
)
from tlsdoctor.explain.recognisers.base import Recogniser

RECOGNISERS: tuple[Recogniser, ...] = (
    curl.RECOGNISER,
    openssl.RECOGNISER,
    python.RECOGNISER,
    java.RECOGNISER,
    go.RECOGNISER,
    node.RECOGNISER,
    dotnet.RECOGNISER,
    windows.RECOGNISER,
    powershell.RECOGNISER,
    apple.RECOGNISER,
    chrome.RECOGNISER,
    firefox.RECOGNISER,
    safari.RECOGNISER,
    rust.RECOGNISER,
    git.RECOGNISER,
    wget.RECOGNISER,
    containers.RECOGNISER,
)

__all__ = ["RECOGNISERS", "Recogniser"]
