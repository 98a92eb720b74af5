"""The paired test between two models (or two runs), and what a comparison can detect.

**The test.** Per-task differences d_1..d_T (a task's mean over its samples, so several
samples of one task count once: tasks are the clusters) are tested with the exact
sign-flip randomisation test (Fisher, *The Design of Experiments*, 1935): under the
null that the two sides are exchangeable within each task, every difference is equally
likely to have either sign, and the p-value is the share of the 2^T sign patterns whose
|sum| is at least the observed one. Why this test:

* It is exact at any number of tasks and assumes no normality; a paired t-test claims
  p ~ 0 for 3 tasks that all moved by 1 (zero variance), where no test can tell.
* With one sample per task and pass/fail outcomes it *is* the exact McNemar (sign) test.
* It is computed exactly, not by resampling, so a p-value is never floored by a
  resample count (the paired bootstrap's could not go below 1/2001; times Holm's 45
  pairs for 10 models that was 0.0225, and no comparison among 15 models could ever be
  significant). The only floor left is the test's own: 2^(1-k) for k differing tasks.

It is computed by convolving the tasks' two-point distributions {-|d|, +|d|} on an
integer lattice. That is exact when the differences are multiples of 1/L for some
L <= 1000 with at most 10,000 steps in all (pass@k with equal sample counts, on any
suite of ordinary size); for other values (scores) with at most 200 differing tasks,
|d| is rounded to a lattice of 10,000 steps, which moves the mean difference by far
less than its interval is wide. Beyond that (more differing tasks, or a lattice too fine
to convolve in about 50 ms) the randomisation distribution is replaced by its normal
limit (Hoeffding 1952), mean 0 and variance sum(d^2), with a continuity correction on a
lattice. For symmetric summands its error is of order 1/k; measured against the exact
value at 110-130 differing tasks of continuous scores it is at most 0.003, on the
conservative side, and 0.0002 for 200 pass/fail tasks.

**Standard errors** are task-clustered: the SE of the mean of per-task differences,
which with several samples per task is the cluster-robust SE (Miller, "Adding Error Bars
to Evals", 2024).

**Minimum detectable difference** (Miller 2024's power analysis; Eval-Arena reports it
for HumanEval+): the smallest true difference the comparison would call significant with
80% power, (z_{1-a/2m} + z_{0.8}) x SE for m comparisons in the Holm family (the first
Holm step compares with alpha / m). It is never below what the exact test can reach (at
least ``min_tasks_for_significance`` tasks must move, each by one sample's verdict,
1/samples), and is None when there are fewer tasks than that: no change could be detected.
"""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np

ALPHA = 0.05
POWER = 0.8
_MAX_UNITS = 10_000
_MAX_DENOMINATOR = 1000
_MAX_ROUNDED_TASKS = 200
_MAX_WORK = 20_000_000  # array additions, ~50 ms


def min_tasks_for_significance(n_tests: int, alpha: float = ALPHA) -> int:
    """Fewest tasks with which one of ``n_tests`` Holm-corrected comparisons can reach alpha.

    With k differing tasks the p-value is at least 2^(1 - k) (the sign-flip test's
    floor), and Holm multiplies the smallest p by the number of tests, so significance
    needs n_tests * 2^(1 - k) < alpha.
    """
    k = 1
    while max(1, n_tests) * 2.0 ** (1 - k) >= alpha:
        k += 1
    return k


def _lattice(a: np.ndarray) -> tuple[np.ndarray, bool]:
    """|d| as integer steps, and whether they are exact (the coarsest lattice 1/L holding them)."""
    distinct = np.unique(a)
    scales = np.arange(1, _MAX_DENOMINATOR + 1, dtype=np.float64)
    for probe in (distinct[:8], distinct):  # a few values rule most scales out cheaply
        scaled = scales[:, None] * probe[None, :]
        scales = scales[(np.abs(scaled - np.rint(scaled)) < 1e-9).all(axis=1)]
    for scale in scales:
        steps = np.rint(a * scale)
        if steps.sum() <= _MAX_UNITS:
            return steps.astype(np.int64), True
        break  # larger scales only add steps
    return np.rint(a * (_MAX_UNITS / a.sum())).astype(np.int64), False


def _half_binomial(m: int) -> np.ndarray:
    """P(B = j), B ~ Binomial(m, 1/2), j = 0..m, in logs first (no underflow at large m)."""
    j = np.arange(m, dtype=np.float64)
    logs = np.concatenate([[0.0], np.cumsum(np.log((m - j) / (j + 1)))]) - m * math.log(2)
    return np.exp(logs)


def _exact_tail(units: np.ndarray, signs: np.ndarray) -> float:
    """P(|sum of +-units| >= |observed sum|) by convolution on the integer lattice."""
    observed = abs(int((signs * units).sum()))
    total = int(units.sum())
    values, counts = np.unique(units, return_counts=True)
    order = np.argsort(-counts, kind="stable")  # the largest group is placed, not convolved
    dist = np.zeros(2 * total + 1)
    half = 0  # the distribution so far lives in [total - half, total + half]
    for u, m in zip(values[order].tolist(), counts[order].tolist(), strict=True):
        # m tasks of size u contribute u * (2B - m), B ~ Binomial(m, 1/2).
        pmf = _half_binomial(m)
        if half == 0:
            dist[total + u * (2 * np.arange(m + 1) - m)] = pmf
        else:
            lo, hi = total - half, total + half + 1
            part, new = dist[lo:hi], np.zeros_like(dist)
            for j, w in enumerate(pmf):
                shift = u * (2 * j - m)
                new[lo + shift : hi + shift] += w * part
            dist = new
        half += u * m
    offsets = np.abs(np.arange(-total, total + 1))
    return float(min(1.0, dist[offsets >= observed].sum()))


def _work(units: np.ndarray) -> int:
    """Array additions the convolution needs (the largest group costs nothing)."""
    counts = np.unique(units, return_counts=True)[1]
    return int((counts.sum() + counts.size - counts.max() - 1) * (2 * units.sum() + 1))


def sign_flip_p(diffs: np.ndarray) -> float:
    """Two-sided p-value of the sign-flip test of mean(diffs) = 0; NaN without tasks.

    Exact on a lattice (see the module docstring for when it rounds or uses the normal
    limit). The smallest value it can take with k differing tasks is 2^(1 - k).
    """
    d = np.asarray(diffs, dtype=np.float64)
    if d.size == 0:
        return math.nan
    d = d[np.abs(d) > 1e-12]
    if d.size == 0:
        return 1.0
    units, exact = _lattice(np.abs(d))
    keep = units > 0
    if (exact or d.size <= _MAX_ROUNDED_TASKS) and _work(units[keep]) <= _MAX_WORK:
        return _exact_tail(units[keep], np.sign(d[keep]).astype(np.int64))
    # The normal limit of the randomisation distribution. On a lattice of step h the sum
    # moves by 2h when one sign flips: the continuity correction is half of that.
    step = float(np.abs(d).sum() / units.sum()) if exact else 0.0
    z = max(0.0, abs(d.sum()) - step) / math.sqrt(float((d * d).sum()))
    return float(min(1.0, math.erfc(z / math.sqrt(2))))


def clustered_se(task_diffs: np.ndarray) -> float:
    """SE of the mean per-task difference (task-clustered); NaN with fewer than 2 tasks."""
    d = np.asarray(task_diffs, dtype=np.float64)
    if d.size < 2:
        return math.nan
    return float(np.std(d, ddof=1) / math.sqrt(d.size))


def _z(n_tests: int, alpha: float) -> float:
    return NormalDist().inv_cdf(1.0 - alpha / (2.0 * max(1, n_tests)))


def mdd(
    task_diffs: np.ndarray,
    n_tests: int,
    samples: int,
    alpha: float = ALPHA,
    power: float = POWER,
) -> float | None:
    """Minimum detectable difference of this comparison; None when no change could be detected.

    Args:
        task_diffs: per-task differences (each a task's mean over its samples).
        n_tests: comparisons in the Holm family the decision is made in.
        samples: most samples per task (one sample's verdict moves a task by 1/samples).
    """
    d = np.asarray(task_diffs, dtype=np.float64)
    needed = min_tasks_for_significance(n_tests, alpha)
    if d.size < needed:
        return None
    se = clustered_se(d)
    noise = (_z(n_tests, alpha) + NormalDist().inv_cdf(power)) * se
    floor = needed / (max(1, samples) * d.size)
    return float(min(1.0, max(noise, floor)))


def adjusted_interval(
    task_diffs: np.ndarray, n_tests: int, alpha: float = ALPHA
) -> tuple[float, float]:
    """Simultaneous interval of the mean difference over ``n_tests`` comparisons.

    Bonferroni (each at level 1 - alpha / n_tests), normal approximation with the
    task-clustered SE, clipped to [-1, 1] (a difference of two rates cannot leave it).
    (NaN, NaN) without tasks; a point with one task.
    """
    d = np.asarray(task_diffs, dtype=np.float64)
    if d.size == 0:
        return math.nan, math.nan
    mean = float(d.mean())
    se = clustered_se(d)
    half = 0.0 if math.isnan(se) else _z(n_tests, alpha) * se
    return max(-1.0, mean - half), min(1.0, mean + half)
