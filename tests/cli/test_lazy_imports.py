"""A command imports only what it uses (issue 9: ``tlsdoctor diagnose`` of a healthy server
within 250 ms, and most of a whole process was imports).

No timing here: the guard is the set of modules a real run leaves in ``sys.modules``, so an
import added at the top of some module, which would silently undo the work, fails a test
that names the module and the way back (import it inside the function that needs it).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Iterator

import pytest

from tlsdoctor.cli import COMMANDS
from tlsdoctor.lab import Lab, running_lab

# Modules the diagnosis of a healthy server reached by address never needs. Each is imported
# where it is used: h2 once a server selected it and libcurl did not answer; idna for a host
# name; shutil (bz2, lzma) for faketime and temporary files; the public serialization package
# (SSH keys, every cipher) never; the capability probe once a handshake fails; rich only on a
# terminal; the other commands and packages only by their commands.
MUST_STAY_LAZY = (
    "h2", "idna", "unicodedata", "shutil", "bz2", "lzma", "tempfile", "email.message",
    "cryptography.hazmat.primitives.serialization", "cryptography.hazmat.primitives.serialization.ssh",
    "rich", "httpx", "httpcore", "certifi", "truststore",
    "tlsdoctor.lab", "tlsdoctor.explain", "tlsdoctor.client", "tlsdoctor.batch", "tlsdoctor.fleet",
    "tlsdoctor.torture", "tlsdoctor.demo", "tlsdoctor.observe.capabilities", "tlsdoctor.wire.client_hello",
    *(f"tlsdoctor.cli.{name}" for name in COMMANDS if name != "diagnose"),
)

_RUN = """
import json, os, runpy, sys
sys.argv = ["tlsdoctor", *json.loads(sys.argv[1])]

def report(code, how):
    print(json.dumps({"code": code, "exit": how, "modules": sorted(sys.modules)}), file=sys.stderr, flush=True)

quick_exit = os._exit
os._exit = lambda code: (report(code, "os._exit"), quick_exit(code))  # the program ends here when allowed
try:
    runpy.run_module("tlsdoctor", run_name="__main__")
except SystemExit as exc:
    report(exc.code, "SystemExit")
"""


def modules_after(argv: list[str], cache_dir: Path) -> tuple[int, str, set[str], str]:
    """Run ``tlsdoctor ARGV`` in a fresh process: its exit code, output, final sys.modules, way out."""
    done = subprocess.run([sys.executable, "-c", _RUN, json.dumps(argv)], capture_output=True, text=True,
                          timeout=120, env={"PATH": "/usr/bin:/bin", "TLSDOCTOR_CACHE_DIR": str(cache_dir)})
    report = json.loads(done.stderr.strip().splitlines()[-1])
    assert done.returncode == report["code"]
    return report["code"], done.stdout, set(report["modules"]), report["exit"]


def loaded(modules: set[str], names: tuple[str, ...]) -> list[str]:
    return sorted(n for n in names if n in modules or any(m.startswith(n + ".") for m in modules))


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    with running_lab(["ok"]) as running:
        yield running


def test_diagnosing_a_healthy_server_imports_none_of_the_lazy_modules(lab: Lab, tmp_path: Path) -> None:
    ok = lab["ok"]
    argv = ["diagnose", ok.url, "--ca-bundle", str(ok.ca_file)]
    first = modules_after(argv, tmp_path)  # a machine's first run writes the trust-store cache (tempfile)
    code, out, modules, how = modules_after(argv, tmp_path)  # every later run reads it
    assert first[0] == code == 0 and ": ok" in out, out
    assert how == "os._exit" and out.rstrip().endswith("ms")  # the whole report, then no orderly shutdown
    assert loaded(modules, MUST_STAY_LAZY) == []
    assert {"tlsdoctor.diagnosis", "tlsdoctor.judge.rules", "pycurl"} <= modules  # it did diagnose


def test_a_commands_help_imports_no_other_command(tmp_path: Path) -> None:
    code, out, modules, how = modules_after(["diagnose", "--help"], tmp_path)
    assert code == 0 and "--ca-bundle" in out and how == "SystemExit"
    assert loaded(modules, MUST_STAY_LAZY) == []
    assert "tlsdoctor.diagnosis" not in modules and "asyncio" not in modules


def test_the_top_level_help_still_lists_every_command(tmp_path: Path) -> None:
    code, out, _, _ = modules_after(["--help"], tmp_path)
    assert code == 0 and all(name in out for name in COMMANDS)


def test_a_batch_keeps_the_orderly_shutdown(lab: Lab, tmp_path: Path) -> None:
    urls = tmp_path / "urls.txt"
    urls.write_text(lab["ok"].url + "\n")
    code, out, _, how = modules_after(["diagnose", "--batch", str(urls), "--ca-bundle", str(lab["ok"].ca_file),
                                       "--processes", "1"], tmp_path)
    assert code == 0 and lab["ok"].url in out and how == "SystemExit"  # its worker processes are joined
