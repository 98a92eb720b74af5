"""Pairwise model comparisons: shared resamples, model intervals, and one row per pair.

Every pair of evaluated models is compared on each metric over the tasks both scored
(the per-task difference of their means), with the exact sign-flip test of
``tasks.stats.paired``, Holm's correction over all pairs of that metric, the
paired-bootstrap 95% interval, a simultaneous interval adjusted for the number of
pairs, the task-clustered SE and the minimum detectable difference. The winner rule
that reads these rows is in ``tasks.stats.decision``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from tasks.metrics import METRICS, Metric
from tasks.stats.bootstrap import bootstrap_means, diff_intervals, holm, percentile_ci, wilson
from tasks.stats.counts import TaskMatrix
from tasks.stats.paired import (
    ALPHA,
    adjusted_interval,
    clustered_se,
    mdd,
    min_tasks_for_significance,
    sign_flip_p,
)
from tasks.stats.schema import COMPARISON_SCHEMA

TEST = "sign_flip_exact"


@dataclass(frozen=True)
class Replicates:
    """Raw bootstrap replicates from one shared set of task resamples.

    ``models[metric]`` is (B, models): each model's mean over its tasks with a value.
    ``pairs[metric]`` is (B, pairs): the mean difference over the pair's shared tasks.
    """

    models: dict[Metric, np.ndarray]
    pairs: dict[Metric, np.ndarray]


def pairs_of(order: list[int]) -> list[tuple[int, int]]:
    """Every pair of ranked models, the better-ranked first."""
    return [(a, b) for i, a in enumerate(order) for b in order[i + 1 :]]


def bootstrap_all(
    tm: TaskMatrix, pairs: list[tuple[int, int]], n_boot: int, rng: np.random.Generator
) -> Replicates:
    """Resample tasks once for every model, pair and metric.

    Pairs whose models have values on the same tasks (the usual case) get their
    replicates as a difference of the models' replicates; only pairs with different
    task sets (sandbox errors) need a column of their own.
    """
    m = len(tm.models)
    cols, masks, layout = [], [], []
    for metric in METRICS:
        v, mk = np.nan_to_num(tm.values(metric)), tm.mask(metric)
        explicit = [k for k, (a, b) in enumerate(pairs) if not np.array_equal(mk[a], mk[b])]
        cols += [v[i] for i in range(m)]
        masks += [mk[i] for i in range(m)]
        for k in explicit:
            a, b = pairs[k]
            cols.append(v[a] - v[b])
            masks.append(mk[a] & mk[b])
        layout.append(explicit)
    if tm.tasks and cols:
        boot = bootstrap_means(np.stack(cols, axis=1), n_boot, rng, np.stack(masks, axis=1))
    else:
        boot = np.full((n_boot, len(cols)), np.nan)
    models, out_pairs, start = {}, {}, 0
    for metric, explicit in zip(METRICS, layout, strict=True):
        part = boot[:, start : start + m + len(explicit)]
        start += m + len(explicit)
        models[metric] = part[:, :m]
        reps = np.empty((n_boot, len(pairs)))
        for k, (a, b) in enumerate(pairs):
            reps[:, k] = part[:, a] - part[:, b]
        for pos, k in enumerate(explicit):
            reps[:, k] = part[:, m + pos]
        out_pairs[metric] = reps
    return Replicates(models, out_pairs)


def model_cis(tm: TaskMatrix, reps: Replicates) -> dict[Metric, tuple[np.ndarray, np.ndarray]]:
    """95% interval of each metric per model: percentile task bootstrap, or Wilson.

    pass@1 (and pass@1+) of a model with exactly one scored sample per task is a plain
    proportion over tasks; its Wilson interval stays inside [0, 1] and is not
    degenerate at 0/T or T/T, where a bootstrap collapses to a point.
    """
    out: dict[Metric, tuple[np.ndarray, np.ndarray]] = {}
    for metric in METRICS:
        mask = tm.mask(metric)
        low, high = percentile_ci(reps.models[metric], n_rows=mask.sum(axis=1))
        if metric != "overall_score":
            single = np.array([(tm.n[i][mask[i]] == 1).all() for i in range(len(tm.models))])
            passes = np.where(mask, tm.passes(metric), 0).sum(axis=1)
            w_low, w_high = wilson(passes, mask.sum(axis=1))
            low, high = np.where(single, w_low, low), np.where(single, w_high, high)
        out[metric] = (low, high)
    return out


def rank_order(tm: TaskMatrix, primary: Metric) -> list[int]:
    """Indices of evaluated models, best primary metric first (name breaks exact ties).

    A model none of whose samples got a reply and was checked is not ranked; a model
    with no value of the primary metric (pass@1+ on a run without extra tests) comes last.
    """
    mask = tm.mask(primary)
    total = np.where(mask, tm.values(primary), 0.0).sum(axis=1)
    count = mask.sum(axis=1)
    means = np.where(count > 0, total / np.maximum(count, 1), -np.inf)
    scored = [i for i in range(len(tm.models)) if tm.scored[i].any() and tm.evaluated[i]]
    return sorted(scored, key=lambda i: (-means[i], tm.models[i]))


def pair_family(
    diffs: list[np.ndarray],
    boot: np.ndarray,
    samples: list[int],
    alpha: float = ALPHA,
) -> dict[str, list]:
    """Statistics of a family of paired comparisons (one Holm family).

    Args:
        diffs: per comparison, its per-task differences (shared tasks only).
        boot: (B, comparisons) bootstrap replicates of the mean differences.
        samples: per comparison, the most samples any of its tasks has.
        alpha: family-wise error rate.

    Returns:
        Columns (one value per comparison): diff, ci_low, ci_high, se, mdd, ci_low_adj,
        ci_high_adj, p_value, p_holm, n_comparisons, min_tasks_for_significance.
    """
    m = len(diffs)
    n_tasks = np.array([d.size for d in diffs], dtype=np.int64)
    observed = np.array([d.mean() if d.size else np.nan for d in diffs])
    intervals = diff_intervals(observed, boot, n_tasks) if m else np.empty((0, 3))
    p = np.array([sign_flip_p(d) for d in diffs])
    p_holm = holm(p)
    adjusted = [adjusted_interval(d, m, alpha) for d in diffs]
    # Beside a 'not significant' verdict the quoted interval always reaches 0: the exact
    # test is the judge, and with few tasks it is stricter than the normal approximation.
    adjusted = [
        (min(lo, 0.0), max(hi, 0.0)) if not ph < alpha else (lo, hi)
        for (lo, hi), ph in zip(adjusted, p_holm, strict=True)
    ]

    def opt(x: float | None) -> float | None:
        return None if x is None or np.isnan(x) else float(x)

    return {
        "diff": [opt(x) for x in intervals[:, 0]],
        "ci_low": [opt(x) for x in intervals[:, 1]],
        "ci_high": [opt(x) for x in intervals[:, 2]],
        "se": [opt(clustered_se(d)) for d in diffs],
        "mdd": [mdd(d, m, s, alpha) for d, s in zip(diffs, samples, strict=True)],
        "ci_low_adj": [opt(lo) for lo, _ in adjusted],
        "ci_high_adj": [opt(hi) for _, hi in adjusted],
        "p_value": [opt(x) for x in p],
        "p_holm": [opt(x) for x in p_holm],
        "n_comparisons": [m] * m,
        "min_tasks_for_significance": [min_tasks_for_significance(m, alpha)] * m,
    }


def _verdict(diff: float | None, p_holm: float | None, alpha: float) -> str:
    if diff is None or p_holm is None or p_holm >= alpha:
        return "tie"
    return "a_better" if diff > 0 else "b_better" if diff < 0 else "tie"


def compare_models(
    tm: TaskMatrix, pairs: list[tuple[int, int]], reps: Replicates, alpha: float = ALPHA
) -> pa.Table:
    """One row per pair and metric; a is the better-ranked model. Holm runs per metric."""
    rows: dict[str, list] = {name: [] for name in COMPARISON_SCHEMA.names}
    for metric in METRICS:
        v, mk = tm.values(metric), tm.mask(metric)
        masks = [mk[a] & mk[b] for a, b in pairs]
        diffs = [v[a][s] - v[b][s] for (a, b), s in zip(pairs, masks, strict=True)]
        samples = [
            int(max(tm.n[a][s].max(), tm.n[b][s].max())) if s.any() else 1
            for (a, b), s in zip(pairs, masks, strict=True)
        ]
        family = pair_family(diffs, reps.pairs[metric], samples, alpha)
        for k, ((a, b), s) in enumerate(zip(pairs, masks, strict=True)):
            shared = bool(s.any())
            rows["model_a"].append(tm.models[a])
            rows["model_b"].append(tm.models[b])
            rows["metric"].append(metric)
            rows["n_tasks"].append(int(s.sum()))
            rows["value_a"].append(float(v[a][s].mean()) if shared else None)
            rows["value_b"].append(float(v[b][s].mean()) if shared else None)
            for name, values in family.items():
                rows[name].append(values[k])
            rows["verdict"].append(_verdict(family["diff"][k], family["p_holm"][k], alpha))
            rows["test"].append(TEST)
    return pa.Table.from_pydict(rows, schema=COMPARISON_SCHEMA)
