"""Simulated fleets, written once per test session through the client's own writers.

Sizes are the smallest that still answer each question: the gate needs about 10,000 installs
per cohort to see two points at 95% (anytime-valid intervals are wider than fixed-sample ones),
so its fleets are one day long; causes and the engines need many days but few installs.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tlsdoctor.fleet.simulate import Regression, Truth, simulate


class Fleet:
    def __init__(self, path: Path, truth: Truth) -> None:
        self.path, self.truth = path, truth

    @property
    def payload(self) -> Path:
        return self.path / "payload.json"


def _fleet(factory: pytest.TempPathFactory, name: str, **options: object) -> Fleet:
    path = factory.mktemp(name)
    return Fleet(path, simulate(path, **options))  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def small_fleet(tmp_path_factory: pytest.TempPathFactory) -> Fleet:
    """2,000 installs over 4 days with the regression: for causes, engines, the HTML report."""
    return _fleet(tmp_path_factory, "small", installs=2000, days=4, seed=3,
                  regression=Regression("trust.interception", 2.0))


@pytest.fixture(scope="session")
def regressed_fleet(tmp_path_factory: pytest.TempPathFactory) -> Fleet:
    return _fleet(tmp_path_factory, "regressed", installs=20000, days=1, seed=11,
                  regression=Regression("trust.interception", 2.0))


@pytest.fixture(scope="session")
def clean_fleet(tmp_path_factory: pytest.TempPathFactory) -> Fleet:
    return _fleet(tmp_path_factory, "clean", installs=20000, days=1, seed=12)
