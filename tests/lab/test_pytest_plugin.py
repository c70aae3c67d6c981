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
