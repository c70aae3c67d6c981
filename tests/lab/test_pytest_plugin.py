"""The pytest plugin, used the way another project would use it."""

from __future__ import annotations

import pytest


def test_a_project_tests_its_client_against_chosen_scenarios(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import ssl, socket, urllib.parse
        import pytest

        def my_client_outcome(url, ca_file):
            u = urllib.parse.urlsplit(url)
            ctx = ssl.create_default_context(cafile=str(ca_file))
            try:
                with socket.create_connection((u.hostname, u.port), timeout=2) as raw:
                    with ctx.wrap_socket(raw, server_hostname=u.hostname):
                        return "ok"
            except ssl.SSLCertVerificationError as exc:
                return {10: "cert.expired", 18: "cert.self_signed"}.get(exc.verify_code, "other")

        @pytest.mark.tls_scenarios("ok", "expired", "self-signed")
        def test_client(tls_scenario):
            assert my_client_outcome(tls_scenario.url, tls_scenario.ca_file) == tls_scenario.code

        def test_lab_fixture(tls_lab):
            assert tls_lab["tcp-refused"].curl_code == 7
        """
    )
    result = pytester.runpytest_subprocess("-q", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=4)
    result.stdout.fnmatch_lines(["*4 passed*"])


def test_unmarked_tests_run_once_per_catalogue_entry(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        from tlsdoctor.lab import CATALOGUE

        def test_each(tls_scenario):
            assert tls_scenario.url
        """
    )
    from tlsdoctor.lab import CATALOGUE

    result = pytester.runpytest_subprocess("-q", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=len(CATALOGUE))


def test_a_wrong_expectation_fails(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.tls_scenarios("expired")
        def test_client(tls_scenario):
            assert tls_scenario.code == "ok"
        """
    )
    result = pytester.runpytest_subprocess("-q", "-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)


README = __import__("pathlib").Path(__file__).resolve().parents[2] / "README.md"

# The app the README's example imports: a real libcurl client that hands the fixture's
# paths to pycurl, ssl and a subprocess exactly as given (no str(), no os.fspath()).
MY_APP = '''
import dataclasses, ssl, subprocess, sys
import pycurl

VERIFY_CODES = {10: "cert.expired", 18: "cert.self_signed", 20: "trust.interception"}

@dataclasses.dataclass
class Outcome:
    curl_code: int
    finding: str

def fetch(url, ca_file, proxy=None):
    ssl.create_default_context(cafile=ca_file)                  # ssl takes it as is
    subprocess.run([sys.executable, "-c", "import sys; open(sys.argv[1]).read()", ca_file], check=True)
    handle = pycurl.Curl()
    handle.setopt(pycurl.URL, url)
    handle.setopt(pycurl.CAINFO, ca_file)                        # the README's point: no str() needed
    handle.setopt(pycurl.NOBODY, True)
    handle.setopt(pycurl.TIMEOUT, 10)
    handle.setopt(pycurl.PROXY, proxy or "")
    try:
        handle.perform()
        return Outcome(0, "ok")
    except pycurl.error as exc:
        code = exc.args[0]
        return Outcome(code, VERIFY_CODES.get(handle.getinfo(pycurl.SSL_VERIFYRESULT), "other"))
    finally:
        handle.close()
'''


def test_the_readme_plugin_example_runs_as_written(pytester: pytest.Pytester) -> None:
    text = README.read_text()
    section = text[text.index("## pytest plugin"):]
    example = section[section.index("```python\n") + len("```python\n"):]
    example = example[: example.index("```")]
    assert "ca_file=tls_scenario.ca_file" in example, "the example this test runs has changed: update MY_APP"
    pytester.makepyfile(my_app=MY_APP, test_readme_example=example)
    result = pytester.runpytest_subprocess("-q", "-p", "no:cacheprovider")
    from tlsdoctor.lab import CATALOGUE

    result.assert_outcomes(passed=4 + len(CATALOGUE) + 1)


def test_scenario_paths_are_str_and_path_like(tls_lab: object) -> None:
    import os

    from tlsdoctor.lab.pytest_plugin import LabFile, _with_str_paths

    entry = _with_str_paths(tls_lab["revoked-crl"])  # type: ignore[index]
    for path in (entry.ca_file, entry.crl_file):
        assert isinstance(path, str) and isinstance(path, LabFile)
        assert os.fspath(path) == str(path) and path.exists() and path.name.endswith(".pem")
        assert path.read_bytes().startswith(b"-----BEGIN")
    assert entry.client_env()["SSL_CERT_FILE"] == entry.ca_file
