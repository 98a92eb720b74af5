"""The exact paired test, task-clustered standard errors and the minimum detectable difference."""

from __future__ import annotations

import itertools
import math
from statistics import NormalDist

import numpy as np
import pytest

from tasks.stats.paired import adjusted_interval, clustered_se, mdd, sign_flip_p


def _brute_force(diffs: np.ndarray) -> float:
    """Two-sided p by enumerating every sign vector (the definition of the test)."""
    d = diffs[diffs != 0]
    observed = abs(d.sum())
    sums = [abs((np.array(s) * np.abs(d)).sum()) for s in itertools.product((-1, 1), repeat=d.size)]
    return float(np.mean(np.array(sums) >= observed - 1e-9))


@pytest.mark.parametrize("seed", range(6))
def test_sign_flip_p_equals_full_enumeration(seed):
    rng = np.random.default_rng(seed)
    samples = int(rng.integers(1, 6))
    # Per-task pass-rate differences with `samples` samples: multiples of 1/samples.
    diffs = (rng.integers(0, samples + 1, 11) - rng.integers(0, samples + 1, 11)) / samples
    assert sign_flip_p(diffs) == pytest.approx(_brute_force(diffs), rel=1e-9)


def test_sign_flip_p_on_continuous_scores_is_close_to_enumeration():
    diffs = np.random.default_rng(7).uniform(-0.4, 0.8, 12)
    assert sign_flip_p(diffs) == pytest.approx(_brute_force(diffs), abs=0.01)


def test_binary_differences_give_the_exact_sign_test():
    # 9 tasks won, 2 lost, 153 tied: McNemar's exact test, binomial(11, 1/2), two-sided.
    diffs = np.r_[np.ones(9), -np.ones(2), np.zeros(153)]
    expected = 2 * sum(math.comb(11, j) for j in range(9, 12)) / 2**11
    assert sign_flip_p(diffs) == pytest.approx(expected, rel=1e-12)


def test_p_is_not_floored_by_a_resample_count():
    # 164 tasks all one way: the exact p is 2^-163, far below the old bootstrap's 1/2001.
    assert sign_flip_p(np.ones(164)) == pytest.approx(2.0**-163, rel=1e-9)
    assert sign_flip_p(np.ones(3)) == pytest.approx(0.25)  # 3 tasks can never be significant
    assert sign_flip_p(np.zeros(10)) == 1.0
    assert math.isnan(sign_flip_p(np.zeros(0)))


def test_clustered_se_is_the_se_of_task_means():
    # Two tasks with 4 samples each: the SE comes from the task means, not the 8 samples.
    per_task = np.array([0.25, 0.75])
    assert clustered_se(per_task) == pytest.approx(np.std(per_task, ddof=1) / np.sqrt(2))
    assert math.isnan(clustered_se(np.array([0.5])))


def test_mdd_needs_enough_tasks_and_shrinks_with_more():
    assert mdd(np.array([-1.0, -1.0, -1.0]), n_tests=1, samples=1) is None  # 3 < 6 tasks
    rng = np.random.default_rng(0)
    small = rng.choice([-1.0, 0.0, 0.0, 1.0], 40)
    large = rng.choice([-1.0, 0.0, 0.0, 1.0], 400)
    z = NormalDist().inv_cdf(0.975) + NormalDist().inv_cdf(0.8)
    assert mdd(small, 1, 1) == pytest.approx(z * clustered_se(small))
    assert mdd(large, 1, 1) < mdd(small, 1, 1)
    # More comparisons: the first Holm step needs alpha / m, so a bigger change.
    assert mdd(small, 45, 1) > mdd(small, 1, 1)


def test_mdd_is_never_below_what_the_exact_test_can_reach():
    # Two identical runs: no noise at all, but 6 tasks must still move (one sample each).
    assert mdd(np.zeros(30), 1, samples=1) == pytest.approx(6 / 30)
    assert mdd(np.zeros(30), 1, samples=5) == pytest.approx(6 / 150)


def test_adjusted_interval_widens_with_the_comparisons_and_stays_possible():
    diffs = np.r_[np.full(30, 0.9), np.full(10, -0.2)]
    one = adjusted_interval(diffs, n_tests=1)
    many = adjusted_interval(diffs, n_tests=45)
    assert many[0] < one[0] < diffs.mean() < one[1] < many[1]
    assert many[0] >= -1.0 and many[1] <= 1.0


def test_the_normal_limit_for_many_tasks_stays_close_to_the_exact_value():
    from tasks.stats import paired

    # 300 differing tasks of continuous scores: past the exact path, so the normal limit.
    d = np.random.default_rng(3).uniform(-0.6, 0.6, 300) + 0.03
    units = np.rint(np.abs(d) * (10_000 / np.abs(d).sum())).astype(np.int64)
    exact = paired._exact_tail(units, np.sign(d).astype(np.int64))  # convolved anyway
    assert 0.001 < exact < 0.05  # near where decisions are made
    assert sign_flip_p(d) == pytest.approx(exact, rel=0.05)
