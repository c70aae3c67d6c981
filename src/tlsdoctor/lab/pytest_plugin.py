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

``ca_file`` and ``crl_file`` are :class:`LabFile` objects: plain ``str`` paths, so that they go
straight into ``pycurl``'s ``setopt(CAINFO, ...)`` (which refuses ``Path``), ``ssl``,
``subprocess`` and ``requests``' ``verify=``; they also answer ``Path``'s attributes
(``.name``, ``.parent``, ``.read_bytes()``...).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Iterator

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


class LabFile(str):
    """A lab file's path: a ``str`` for every API that takes one, with ``Path``'s attributes too."""

    __slots__ = ()

    def __fspath__(self) -> str:
        return str.__str__(self)

    @property
    def path(self) -> Path:
        return Path(self)

    def __getattr__(self, name: str) -> Any:  # .name, .parent, .read_bytes(), .exists()...
        return getattr(Path(self), name)

    def __truediv__(self, other: str) -> Path:
        return Path(self) / other


def _with_str_paths(entry: LabScenario) -> LabScenario:
    return dataclasses.replace(
        entry,
        ca_file=LabFile(entry.ca_file),  # type: ignore[arg-type]
        crl_file=LabFile(entry.crl_file) if entry.crl_file is not None else None,  # type: ignore[arg-type]
    )


@pytest.fixture
def tls_scenario(request: pytest.FixtureRequest, tls_lab: Lab) -> LabScenario:
    """One scenario of the running lab; its file paths are ``str`` (see :class:`LabFile`)."""
    return _with_str_paths(tls_lab[request.param])
