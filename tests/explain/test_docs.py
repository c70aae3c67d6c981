"""docs/explain.md lists exactly what the recognisers read (it is generated from them)."""

from __future__ import annotations

from pathlib import Path

from tlsdoctor.explain import RECOGNISERS
from tlsdoctor.explain.docs import render

PAGE = Path(__file__).parents[2] / "docs" / "explain.md"


def test_docs_explain_md_is_current() -> None:
    assert PAGE.read_text(encoding="utf-8") == render(), "run: python -m tlsdoctor.explain.docs docs/explain.md"


def test_the_page_names_every_ecosystem_and_language() -> None:
    page = render()
    for recogniser in RECOGNISERS:
        assert f"(`{recogniser.ecosystem}`)" in page
    for language in ("zh-CN", "zh-TW", "ja", "ko", "de", "fr", "es", "pt-BR", "ru"):
        assert language in page
