"""Task bootstrap: confidence intervals, and Holm's correction.

Tasks are the unit we resample: the question is how a model would score on
other tasks like these, and samples of one task are not independent (a task is a
cluster; resampling whole tasks is the cluster bootstrap).

Intervals are percentile intervals of the replicates, so their ends are replicate
values and stay inside what is possible: a mean of values in [0, 1] gets an
interval inside [0, 1], a difference of two such means one inside [-1, 1]. The
small-sample correction (the plain bootstrap variance divides by T, not T - 1) is
applied to the percentile *level* (Hesterberg's expanded percentile interval),
never to the replicates: an earlier version scaled the replicates by
sqrt(T / (T - 1)), which pushed intervals past those bounds. For a proportion
with one sample per task, :func:`wilson` gives the interval, also inside [0, 1].

p-values do not come from the bootstrap (its p could not go below 1 / (B + 1)): the
paired test is the exact sign-flip test of ``tasks.stats.paired``.

All columns of one call share the same resamples of the task universe, and each
column's replicate is the mean over its own tasks (its mask). So one pass of
O(B x T) work serves every model and every pair.
"""

from __future__ import annotations

import numpy as np

from tasks.stats.paired import sign_flip_p

# Elements of one chunk of the bootstrap weight matrix (8 bytes each, two live at
# once: ~200 MB). Big chunks matter: OpenBLAS is ~10x slower when the weight
# matrix has few rows (< ~64) and many columns.
_MAX_ELEMS = 12_800_000


def bootstrap_means(
    values: np.ndarray,
    n_boot: int,
    rng: np.random.Generator,
    mask: np.ndarray | None = None,
) -> np.ndarray:
    """Replicate means of each column of ``values`` over resamples of its rows (tasks).

    Args:
        values: shape (T,) or (T, K); entries outside ``mask`` are ignored.
        n_boot: bootstrap replicates.
        rng: the random generator (the caller owns the seed).
        mask: same shape as ``values``; the tasks each column averages over
            (default: all). A replicate that draws none of a column's tasks is NaN.

    Returns:
        Array of shape (n_boot, K); all NaN when T == 0.
    """
    values = np.asarray(values, dtype=np.float64)
    if values.ndim == 1:
        values = values[:, None]
    mask = np.ones(values.shape, dtype=bool) if mask is None else np.asarray(mask, dtype=bool)
    mask = mask.reshape(values.shape)
    n_rows, n_cols = values.shape
    out = np.full((n_boot, n_cols), np.nan)
    if n_rows == 0:
        return out
    numer = np.where(mask, values, 0.0)
    # Columns share few distinct masks (usually one): one denominator per distinct mask.
    masks, which = np.unique(mask.T, axis=0, return_inverse=True)
    block = np.concatenate([numer, masks.T.astype(np.float64)], axis=1)
    chunk = max(1, min(n_boot, _MAX_ELEMS // n_rows))
    for start in range(0, n_boot, chunk):
        size = min(chunk, n_boot - start)
        # Resample counts per row as a weight matrix: one matmul per chunk.
        idx = rng.integers(0, n_rows, size=(size, n_rows))
        idx += (np.arange(size) * n_rows)[:, None]
        counts = np.bincount(idx.ravel(), minlength=size * n_rows)
        del idx
        weights = counts.astype(np.float64).reshape(size, n_rows)
        del counts
        sums = weights @ block
        den = sums[:, n_cols:][:, which.reshape(-1)]
        with np.errstate(invalid="ignore", divide="ignore"):
            out[start : start + size] = np.where(den > 0, sums[:, :n_cols] / den, np.nan)
    return out


def wilson(successes: np.ndarray, trials: np.ndarray, level: float = 0.95):
    """Wilson score interval of a proportion; (NaN, NaN) where ``trials`` is 0.

    Always inside [0, 1], and not degenerate at 0/n or n/n as a bootstrap is.
    """
    from statistics import NormalDist

    z = NormalDist().inv_cdf(0.5 + level / 2.0)
    k = np.asarray(successes, dtype=np.float64)
    n = np.asarray(trials, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = k / n
        centre = (p + z * z / (2 * n)) / (1 + z * z / n)
        half = z / (1 + z * z / n) * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    low = np.where(n > 0, np.clip(centre - half, 0.0, p), np.nan)
    high = np.where(n > 0, np.clip(centre + half, p, 1.0), np.nan)
    return low, high


def _widen(n_rows: np.ndarray | int | None, width: int) -> np.ndarray:
    """sqrt(T / (T - 1)) per column: the plain bootstrap variance divides by T, not T - 1."""
    if n_rows is None:
        return np.ones(width)
    n = np.broadcast_to(np.asarray(n_rows, dtype=np.float64), (width,))
    return np.where(n >= 2, np.sqrt(n / np.maximum(n - 1, 1)), 1.0)


def percentile_ci(
    boot: np.ndarray, level: float = 0.95, n_rows: np.ndarray | int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Percentile interval of each column of ``boot``; NaN replicates are ignored.

    With ``n_rows`` (tasks per column) it is the *expanded* percentile interval
    (Hesterberg 2015): the percentile level is widened as if z were scaled by
    sqrt(T / (T - 1)), instead of scaling the replicates. The ends are still
    replicate values, so the interval never leaves the range of what is possible.
    """
    from statistics import NormalDist

    norm = NormalDist()
    z = norm.inv_cdf(0.5 + level / 2.0)
    factors = _widen(n_rows, boot.shape[1])
    low = np.full(boot.shape[1], np.nan)
    high = low.copy()
    ok = ~np.isnan(boot).all(axis=0)
    for factor in np.unique(factors[ok]):
        cols = ok & (factors == factor)
        tail = norm.cdf(-z * factor) * 100.0
        part = boot[:, cols]
        pct = np.nanpercentile if np.isnan(part).any() else np.percentile
        low[cols], high[cols] = pct(part, [tail, 100.0 - tail], axis=0)
    return low, high


def diff_intervals(observed: np.ndarray, boot: np.ndarray, n_tasks: np.ndarray) -> np.ndarray:
    """(K, 3) array of mean, ci_low, ci_high from raw replicates of differences."""
    low, high = percentile_ci(boot, n_rows=n_tasks)
    out = np.stack([np.asarray(observed, dtype=np.float64), low, high], axis=1)
    out[np.asarray(n_tasks) == 0] = np.nan
    return out


def paired_test(
    diffs: np.ndarray, n_boot: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Mean, 95% CI (task bootstrap) and exact sign-flip p of each column of differences (T, K).

    Returns (mean, ci_low, ci_high, p_value), each of shape (K,); NaN when T == 0.
    """
    diffs = np.asarray(diffs, dtype=np.float64)
    if diffs.ndim == 1:
        diffs = diffs[:, None]
    n_tasks = np.full(diffs.shape[1], diffs.shape[0])
    mean = diffs.mean(axis=0) if diffs.shape[0] else np.full(diffs.shape[1], np.nan)
    st = diff_intervals(mean, bootstrap_means(diffs, n_boot, rng), n_tasks)
    p = np.array([sign_flip_p(diffs[:, k]) for k in range(diffs.shape[1])])
    return st[:, 0], st[:, 1], st[:, 2], p


def holm(p_values: np.ndarray) -> np.ndarray:
    """Holm-Bonferroni adjusted p-values; NaNs are left out of the family and stay NaN."""
    p = np.asarray(p_values, dtype=np.float64)
    out = np.full(p.shape, np.nan)
    ok = ~np.isnan(p)
    q = p[ok]
    m = q.size
    if m == 0:
        return out
    order = np.argsort(q, kind="stable")
    adjusted = np.minimum(1.0, np.maximum.accumulate((m - np.arange(m)) * q[order]))
    result = np.empty(m)
    result[order] = adjusted
    out[ok] = result
    return out
