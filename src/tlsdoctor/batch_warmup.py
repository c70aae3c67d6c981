"""Imported by the batch's fork server, once, before it forks any worker: fills the caches.

``tlsdoctor diagnose --batch`` runs diagnoses in worker processes forked from a
``multiprocessing`` fork server, which imports this module (and the diagnosis code) first.
Every worker then starts with what a process otherwise pays on its first diagnosis, shared
copy-on-write: the OS trust store parsed (~150 ms of CPU on Debian), certifi's bundle (~70
ms), the classification table's patterns compiled (~20 ms). Measured per worker, that was
the difference between a worker's first diagnosis (~180 ms of CPU) and the next (~30 ms).

The caches are keyed by each file's path, size and mtime (observe/trust_sources.py), so a
store that changes later is read again; a worker whose options name another CA file reads
that one itself. Nothing here may stop the fork server: every failure is ignored (the
worker then pays the cost itself, as before).
"""

from __future__ import annotations


def warm() -> None:
    try:
        from tlsdoctor.classify import Signal, classify

        classify(Signal(curl_code=60, verify_result=10, text="SSL certificate problem: certificate has expired"))
    except Exception:  # noqa: BLE001 - a warm-up must never stop the fork server
        pass
    try:
        from tlsdoctor.observe.os_store import os_trust_store
        from tlsdoctor.observe.trust_sources import default_ca_bundle

        os_trust_store(None)
        default_ca_bundle()
    except Exception:  # noqa: BLE001
        pass


warm()
