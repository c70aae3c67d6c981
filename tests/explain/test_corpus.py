"""The explain corpus: real-world error texts, each with the causes explain must rank first.

The format tests keep the corpus honest (every code exists in docs/spec/findings.md, ids are
unique, every case says where its wording comes from); the accuracy test runs
``tlsdoctor.explain.explain`` on every text and holds it to the issue's bar: at least 95% of
cases with all expected codes among the first three candidates, and at least 90% in every
ecosystem. The per-ecosystem and per-language table is printed in pytest's terminal summary
(tests/explain/conftest.py) and recorded as a test property.
"""

from __future__ import annotations

import tomllib
from collections import Counter

import pytest

from corpus_report import (
    CASE_KEYS, CORPUS_TABLE, FILE_KEYS, LANGUAGES, REQUIRED_CASE_KEYS,
    accuracy, by_ecosystem, corpus_files, load_corpus, load_file, misses, run, table,
)
from tlsdoctor.findings import FINDING_CODES

MIN_CASES = 200
MIN_ECOSYSTEMS = 18
#: The ecosystems issue 7 names; each must be in the corpus.
REQUIRED_ECOSYSTEMS = frozenset({
    "curl", "openssl", "python", "java", "android", "go", "node", "dotnet", "windows", "powershell",
    "apple", "chrome", "firefox", "safari", "rust", "git", "wget", "docker",
})
#: The languages Windows and .NET messages must also be recognised in.
LOCALISED = frozenset(LANGUAGES - {"en"})
MIN_CASES_PER_LANGUAGE = 3
#: The texts issue 7 quotes under "Why": each must get the right causes in the top three.
ISSUE_TEXTS = (
    "dotnet/webexception-secure-channel-zh-cn",
    "curl/schannel-illegal-message",
    "curl/schannel-revocation-check",
    "dotnet/httpclient-untrusted-root",
    "apple/nsurl-1202-no-root",
    "android/trust-anchor-not-found",
    "chrome/authority-invalid",
    "firefox/mitm-detected",
    "rust/reqwest-unknown-issuer",
    "git/gnutls-cafile-none",
    "curl/bare-curl-code-60",
)
MIN_OVERALL_TOP3 = 0.95
MIN_ECOSYSTEM_TOP3 = 0.90


@pytest.mark.parametrize("path", corpus_files(), ids=lambda path: path.name)
def test_corpus_file_is_well_formed(path) -> None:
    with path.open("rb") as handle:
        document = tomllib.load(handle)
    assert set(document) <= FILE_KEYS, f"unknown top-level keys {set(document) - FILE_KEYS}"
    ecosystem, cases = load_file(path)
    assert ecosystem == path.stem, "a file's ecosystem id is its file name"
    assert cases, "a corpus file holds at least one case"
    ids = Counter(case.get("id") for case in cases)
    assert not [i for i, n in ids.items() if n > 1], f"duplicate ids: {[i for i, n in ids.items() if n > 1]}"
    for case in cases:
        where = f"{path.name}:{case.get('id')}"
        assert REQUIRED_CASE_KEYS <= set(case) <= CASE_KEYS, f"{where}: keys {sorted(case)}"
        assert isinstance(case["id"], str) and case["id"], where
        assert isinstance(case["source"], str) and len(case["source"]) >= 10, f"{where}: say where the wording comes from"
        assert case.get("lang", "en") in LANGUAGES, f"{where}: unknown language {case.get('lang')!r}"
        assert isinstance(case["text"], str) and case["text"].strip(), f"{where}: empty text"
        expect = case["expect"]
        assert isinstance(expect, list) and len(expect) <= 3, f"{where}: expect holds 0-3 codes"
        assert len(set(expect)) == len(expect), f"{where}: repeated code"
        unknown = [code for code in expect if code not in FINDING_CODES]
        assert not unknown, f"{where}: codes not in docs/spec/findings.md: {unknown}"


def test_corpus_ids_are_unique_across_files() -> None:
    names = Counter(case.name for case in load_corpus())
    assert not [name for name, n in names.items() if n > 1]


def test_corpus_texts_are_not_repeated() -> None:
    texts = Counter(case.text.strip() for case in load_corpus())
    assert not [text[:80] for text, n in texts.items() if n > 1]


def test_corpus_covers_the_ecosystems_and_languages() -> None:
    cases = load_corpus()
    ecosystems = {case.ecosystem for case in cases}
    assert REQUIRED_ECOSYSTEMS <= ecosystems, f"missing ecosystems: {sorted(REQUIRED_ECOSYSTEMS - ecosystems)}"
    assert len(ecosystems) >= MIN_ECOSYSTEMS
    languages = Counter(case.lang for case in cases if case.ecosystem in {"dotnet", "windows"})
    thin = {lang: languages[lang] for lang in LOCALISED if languages[lang] < MIN_CASES_PER_LANGUAGE}
    assert not thin, f"localised Windows/.NET cases below {MIN_CASES_PER_LANGUAGE}: {thin}"
    assert any(not case.expect for case in cases), "the corpus holds texts nothing should recognise"


def test_corpus_size() -> None:
    assert len(load_corpus()) >= MIN_CASES


def test_issue_texts_are_in_the_corpus() -> None:
    names = {case.name for case in load_corpus()}
    assert not [name for name in ISSUE_TEXTS if name not in names]


@pytest.mark.parametrize("name", ISSUE_TEXTS)
def test_issue_text_gets_the_right_causes(name: str) -> None:
    [case] = [case for case in load_corpus() if case.name == name]
    [outcome] = run([case])
    assert outcome.top3, f"{name}: expected {case.expect} in the top three; got {outcome.candidates}"


def test_explain_accuracy_on_the_corpus(request: pytest.FixtureRequest, record_property) -> None:
    outcomes = run(load_corpus())
    report = table(outcomes)
    request.config.stash[CORPUS_TABLE] = report
    record_property("corpus_accuracy", report)
    overall = accuracy(outcomes)
    weak = {name: f"{value:.0%}" for name, value in by_ecosystem(outcomes).items() if value < MIN_ECOSYSTEM_TOP3}
    assert overall >= MIN_OVERALL_TOP3 and not weak, (
        f"top-3 accuracy {overall:.1%} (need {MIN_OVERALL_TOP3:.0%}); ecosystems below "
        f"{MIN_ECOSYSTEM_TOP3:.0%}: {weak}\n{report}\n\nmisses:\n{misses(outcomes)}"
    )

