"""pytest plugin: the TLS fault lab as fixtures, for any project's HTTPS client tests.

Installed with tlsdoctor (entry point ``pytest11``), so nothing needs configuring::

    import pytest

    @pytest.mark.tls_scenarios("ok", "expired", "intercepting-proxy")
    def test_my_client(tls_scenario):
        outcome = my_client.get(tls_scenario.url, ca_file=tls_scenario.ca_file,
                                proxy=tls_scenario.proxy)
        assert outcome.code == tls_scenario.code

Fixtures:

- ``tls_lab`` (session): the running :class:`~tlsdoctor.lab.Lab`; ``tls_lab["expired"]``.
- ``tls_scenario``: one :class:`~tlsdoctor.lab.LabScenario`; a test that asks for it runs
  once per scenario named in its ``tls_scenarios`` mark, or once per catalogue entry
  when unmarked. It carries ``url``, ``proxy``, ``ca_file``, ``crl_file``, ``code`` (the
  finding code), ``curl_code``, ``scenario.client`` (how the client must be set up),
  ``client_env()`` (environment for a client program) and ``command(argv)`` (argv under
  ``faketime`` for ``clock-skew``).
"""

from __future__ import annotations

from typing import Iterator

import pytest

from tlsdoctor.lab.runner import Lab, LabScenario, running_lab
from tlsdoctor.lab.scenarios import CATALOGUE, scenario


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "tls_scenarios(*ids): run the test once per named tlsdoctor lab scenario (all when none)"
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "tls_scenario" not in metafunc.fixturenames:
        return
    marker = metafunc.definition.get_closest_marker("tls_scenarios")
    ids = [scenario(i).id for i in marker.args] if marker and marker.args else [s.id for s in CATALOGUE]
    metafunc.parametrize("tls_scenario", ids, indirect=True, ids=ids)


@pytest.fixture(scope="session")
def tls_lab() -> Iterator[Lab]:
    """Every scenario, started once per session (it takes well under a second)."""
    with running_lab() as lab:
        yield lab


@pytest.fixture
def tls_scenario(request: pytest.FixtureRequest, tls_lab: Lab) -> LabScenario:
    return tls_lab[request.param]
