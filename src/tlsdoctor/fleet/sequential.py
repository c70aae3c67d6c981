"""Anytime-valid comparison of two shares: an asymptotic confidence sequence.

A rollout is watched every day. A fixed-sample test (a t-test, a chi-squared test) read every
day and stopped at the first "significant" difference raises false alarms far above its nominal
5%: with daily looks over two weeks, several times that. A *confidence sequence* is a sequence
of intervals that contains the true difference at every sample size simultaneously with
probability at least 1 - alpha, so it can be looked at as often as one likes, and the rollout
stopped whenever it excludes zero, without inflating the error.

The sequence used here is the asymptotic confidence sequence of Waudby-Smith, Arnold, Wu,
Howard and Ramdas, *Time-uniform central limit theory and asymptotic confidence sequences*
(Annals of Statistics, 2024), Theorem 2.2 with Robbins' normal mixture — the same construction
GrowthBook uses for its sequential testing and safe rollouts. For a mean estimated from ``t``
i.i.d. units with standard deviation ``sigma``::

    half_width(t) = sigma * sqrt( 2 (t rho^2 + 1) / (t^2 rho^2) * log( sqrt(t rho^2 + 1) / alpha ) )

``rho`` tunes where the sequence is tightest; ``rho^2 = (-2 log alpha + log(-2 log alpha + 1)) / t*``
makes it tightest near ``t*`` units (default 5,000, GrowthBook's default tuning). For the
difference of two independent shares (installs randomised into treatment and control by the
rollout hash) ``sigma^2 / t`` is replaced by the difference's variance
``p_T (1 - p_T) / n_T + p_C (1 - p_C) / n_C`` and ``t = n_T + n_C``: the per-unit
inverse-propensity form of the same estimator.

Guarantee (asymptotic, i.e. for fleets of hundreds of installs or more per cohort): the
probability that the interval *ever* excludes the true difference, at any of any number of
looks, is at most ``alpha``; the probability that its lower end ever rises above zero when the
treatment is in truth no worse — a false rollback — is at most ``alpha / 2`` (the boundary is
symmetric, so each side takes half of ``alpha``, up to the negligible chance of crossing both
ways; ``alpha`` itself is the strict bound).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

DEFAULT_ALPHA = 0.05
DEFAULT_TUNING = 5000


@dataclass(frozen=True)
class Interval:
    estimate: float
    low: float
    high: float


def rho_squared(alpha: float = DEFAULT_ALPHA, tuning: int = DEFAULT_TUNING) -> float:
    minus_2_log_alpha = -2 * math.log(alpha)
    return (minus_2_log_alpha + math.log(minus_2_log_alpha + 1)) / tuning


def multiplier(t: int, alpha: float = DEFAULT_ALPHA, tuning: int = DEFAULT_TUNING) -> float:
    """The factor by which the standard error is widened at ``t`` units (about 2.5-3.5 for fleets)."""
    r2 = rho_squared(alpha, tuning)
    t_r2 = t * r2
    return math.sqrt(2 * (t_r2 + 1) / t_r2 * math.log(math.sqrt(t_r2 + 1) / alpha))


def difference_of_shares(
    failing_t: int, n_t: int, failing_c: int, n_c: int, *,
    alpha: float = DEFAULT_ALPHA, tuning: int = DEFAULT_TUNING,
) -> Interval | None:
    """The confidence-sequence interval for ``p_T - p_C`` (None while a cohort is empty)."""
    if n_t <= 0 or n_c <= 0:
        return None
    p_t, p_c = failing_t / n_t, failing_c / n_c
    variance = p_t * (1 - p_t) / n_t + p_c * (1 - p_c) / n_c
    # Guard the degenerate start (no failure seen anywhere): a Bernoulli variance of zero would
    # give a zero-width interval. Use the variance of one failure in the larger cohort instead.
    floor = 1.0 / (max(n_t, n_c) ** 2)
    half = math.sqrt(max(variance, floor)) * multiplier(n_t + n_c, alpha, tuning)
    estimate = p_t - p_c
    return Interval(estimate, estimate - half, estimate + half)
