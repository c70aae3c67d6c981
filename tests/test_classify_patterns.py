"""The one table's patterns compile on first use (issue 9: not at import); each must still be a valid pattern."""

from __future__ import annotations

import re

from tlsdoctor.classify import SIGNAL_TABLE


def test_every_pattern_of_the_table_compiles_and_searches() -> None:
    patterns = [row.text for row in SIGNAL_TABLE if row.text is not None]
    assert patterns
    for pattern in patterns:
        re.compile(pattern.pattern, re.IGNORECASE)  # a typo fails here, not in a user's diagnosis
        assert pattern.search("") is None or pattern.pattern == ""


def test_importing_the_table_compiles_nothing() -> None:
    import subprocess
    import sys

    code = ("import re, sys; compiled = []; real = re.compile\n"
            "re.compile = lambda *a, **k: (compiled.append(a[0]), real(*a, **k))[1]\n"
            "import tlsdoctor.classify as c\n"
            "print(sum(1 for p in compiled if any(r.text is not None and r.text.pattern == p for r in c.SIGNAL_TABLE)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "0"
