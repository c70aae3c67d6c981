"""Diagnosing many URLs: bounded concurrency, a progress bar on a terminal, JSON Lines."""

from __future__ import annotations

import asyncio
import sys
from dataclasses import dataclass
from typing import Any

from tlsdoctor.diagnosis import Diagnosis, DiagnoseError, diagnose_async

MAX_URLS = 10_000
CONCURRENCY = 8


@dataclass(frozen=True)
class BatchResult:
    url: str
    diagnosis: Diagnosis | None
    error: str | None  # the URL itself was bad

    @property
    def ok(self) -> bool:
        return self.diagnosis is not None and self.diagnosis.ok


def read_url_list(path: str) -> list[str]:
    """URLs one a line; blank lines and ``#`` comments skipped. Raises for unreadable files."""
    text = sys.stdin.read() if path == "-" else open(path, encoding="utf-8", errors="replace").read()
    urls = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    if not urls:
        raise ValueError("no URLs in it")
    if len(urls) > MAX_URLS:
        raise ValueError(f"more than {MAX_URLS} URLs")
    return urls


def run_batch(urls: list[str], options: dict[str, Any], *, json_lines: bool = False) -> list[BatchResult]:
    return asyncio.run(_run(urls, options, json_lines))


async def _run(urls: list[str], options: dict[str, Any], json_lines: bool) -> list[BatchResult]:
    from rich.progress import Progress

    from tlsdoctor.render.diagnosis import diagnosis_json

    slots = asyncio.Semaphore(CONCURRENCY)
    progress = Progress(transient=True, disable=not sys.stderr.isatty())
    task = progress.add_task("diagnosing", total=len(urls))

    async def one(url: str) -> BatchResult:
        async with slots:
            try:
                result = BatchResult(url, await diagnose_async(url, **options), None)
            except DiagnoseError as exc:
                result = BatchResult(url, None, str(exc))
        if json_lines:
            # Printed as each finishes: a long batch streams instead of waiting for the slowest.
            if result.diagnosis is not None:
                print(diagnosis_json(result.diagnosis), flush=True)
            else:
                print('{"schema": "tlsdoctor.diagnosis/1", "target": {"url": %s}, "error": %s}'
                      % (_quote(url), _quote(result.error or "")), flush=True)
        progress.advance(task)
        return result

    with progress:
        return list(await asyncio.gather(*(one(u) for u in urls)))


def _quote(text: str) -> str:
    import json

    return json.dumps(text)
