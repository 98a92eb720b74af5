"""Pairwise model comparisons, the winner rule, and run-to-run regression checks.

The winner rule: the best model (highest primary metric) is named the winner
only when it beats every other model significantly (paired bootstrap over
shared tasks, Holm-corrected over all pairs, alpha = 0.05). Otherwise the
result is a tie group: the best model and every model not significantly worse
than it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tasks.record.upgrade import upgrade_results
from tasks.stats.bootstrap import (
    bootstrap_means,
    diff_stats,
    holm,
    min_tasks_for_significance,
    percentile_ci,
    wilson,
)
from tasks.stats.counts import METRICS, TaskMatrix, check_metric, task_matrix
from tasks.stats.runs import run_settings, settings_differences
from tasks.stats.schema import COMPARISON_SCHEMA, HISTORY_SCHEMA

ALPHA = 0.05
TEST = "paired_bootstrap"


@dataclass(frozen=True)
class Decision:
    """Outcome of the winner rule. ``winner`` is None on a tie or without a decision.

    ``kind`` is ``winner``, ``tie`` or ``no_decision`` (for exit codes and badges).
    """

    winner: str | None
    tie_group: tuple[str, ...]
    text: str
    kind: str = "tie"


@dataclass(frozen=True)
class Replicates:
    """Raw bootstrap replicates from one shared set of task resamples.

    ``models[metric]`` is (B, models): each model's mean over its scored tasks.
    ``pairs[metric]`` is (B, pairs): the mean difference over the pair's shared tasks.
    """

    models: dict[str, np.ndarray]
    pairs: dict[str, np.ndarray]


def pairs_of(order: list[int]) -> list[tuple[int, int]]:
    """Every pair of ranked models, the better-ranked first."""
    return [(a, b) for i, a in enumerate(order) for b in order[i + 1 :]]


def bootstrap_all(
    tm: TaskMatrix, pairs: list[tuple[int, int]], n_boot: int, rng: np.random.Generator
) -> Replicates:
    """Resample tasks once for every model, pair and metric.

    Pairs whose models scored the same tasks (the usual case) get their
    replicates as a difference of the models' replicates; only pairs with
    different task sets (sandbox errors) need a column of their own.
    """
    m = len(tm.models)
    explicit = [
        k for k, (a, b) in enumerate(pairs) if not np.array_equal(tm.scored[a], tm.scored[b])
    ]
    cols, masks = [], []
    for metric in METRICS:
        v = np.nan_to_num(tm.values(metric))
        cols += [v[i] for i in range(m)]
        masks += [tm.scored[i] for i in range(m)]
        for k in explicit:
            a, b = pairs[k]
            cols.append(v[a] - v[b])
            masks.append(tm.scored[a] & tm.scored[b])
    if tm.tasks and cols:
        boot = bootstrap_means(np.stack(cols, axis=1), n_boot, rng, np.stack(masks, axis=1))
    else:
        boot = np.full((n_boot, len(cols)), np.nan)
    width = m + len(explicit)
    models, out_pairs = {}, {}
    for j, metric in enumerate(METRICS):
        part = boot[:, j * width : (j + 1) * width]
        models[metric] = part[:, :m]
        reps = np.empty((n_boot, len(pairs)))
        for k, (a, b) in enumerate(pairs):
            reps[:, k] = part[:, a] - part[:, b]
        for pos, k in enumerate(explicit):
            reps[:, k] = part[:, m + pos]
        out_pairs[metric] = reps
    return Replicates(models, out_pairs)


def model_cis(tm: TaskMatrix, reps: Replicates) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """95% interval of each metric per model: percentile task bootstrap, or Wilson.

    pass@1 of a model with exactly one scored sample per task is a plain proportion
    over tasks; its Wilson interval stays inside [0, 1] and is not degenerate at
    0/T or T/T, where a bootstrap collapses to a point.
    """
    n = tm.scored.sum(axis=1)
    out = {metric: percentile_ci(reps.models[metric], n_rows=n) for metric in METRICS}
    single = np.array([(tm.n[i][tm.scored[i]] == 1).all() for i in range(len(tm.models))])
    if single.any():
        low, high = out["pass@1"]
        w_low, w_high = wilson(np.where(tm.scored, tm.c, 0).sum(axis=1), tm.scored.sum(axis=1))
        out["pass@1"] = (np.where(single, w_low, low), np.where(single, w_high, high))
    return out


def _verdicts(diff: np.ndarray, p_holm: np.ndarray, alpha: float) -> list[str]:
    sig = ~np.isnan(p_holm) & (p_holm < alpha)
    return [
        "a_better" if s and d > 0 else "b_better" if s and d < 0 else "tie"
        for s, d in zip(sig, diff, strict=True)
    ]


def rank_order(tm: TaskMatrix, primary: str) -> list[int]:
    """Indices of evaluated models, best primary metric first (name breaks exact ties).

    A model none of whose samples got a reply and was checked is not ranked.
    """
    total = np.where(tm.scored, tm.values(primary), 0.0).sum(axis=1)
    means = total / np.maximum(tm.scored.sum(axis=1), 1)
    scored = [i for i in range(len(tm.models)) if tm.scored[i].any() and tm.evaluated[i]]
    return sorted(scored, key=lambda i: (-means[i], tm.models[i]))


def _pair_diffs(v: np.ndarray, mask: np.ndarray, a: int, b: int) -> np.ndarray:
    return v[a][mask] - v[b][mask]


def compare_models(
    tm: TaskMatrix, pairs: list[tuple[int, int]], reps: Replicates, alpha: float = ALPHA
) -> pa.Table:
    """One row per pair and metric; a is the better-ranked model. Holm runs per metric."""
    rows: dict[str, list] = {name: [] for name in COMPARISON_SCHEMA.names}
    masks = [tm.scored[a] & tm.scored[b] for a, b in pairs]
    n_shared = np.array([mk.sum() for mk in masks], dtype=np.int64)
    needed = min_tasks_for_significance(len(pairs), alpha)
    for metric in METRICS:
        v = tm.values(metric)
        diffs = [_pair_diffs(v, mk, a, b) for (a, b), mk in zip(pairs, masks, strict=True)]
        observed = np.array([d.mean() if d.size else np.nan for d in diffs])
        nonzero = np.array([(np.abs(d) > 1e-12).sum() for d in diffs])
        stats = diff_stats(observed, reps.pairs[metric], n_shared, nonzero)
        p_holm = holm(stats[:, 3])
        for (a, b), mk, st, ph, verdict in zip(
            pairs, masks, stats, p_holm, _verdicts(stats[:, 0], p_holm, alpha), strict=True
        ):
            shared = bool(mk.any())
            rows["model_a"].append(tm.models[a])
            rows["model_b"].append(tm.models[b])
            rows["metric"].append(metric)
            rows["n_tasks"].append(int(mk.sum()))
            rows["value_a"].append(float(v[a][mk].mean()) if shared else None)
            rows["value_b"].append(float(v[b][mk].mean()) if shared else None)
            for name, x in zip(("diff", "ci_low", "ci_high", "p_value"), st, strict=True):
                rows[name].append(None if np.isnan(x) else float(x))
            rows["min_tasks_for_significance"].append(needed)
            rows["p_holm"].append(None if np.isnan(ph) else float(ph))
            rows["verdict"].append(verdict)
            rows["test"].append(TEST)
    return pa.Table.from_pydict(rows, schema=COMPARISON_SCHEMA)


def _fmt(x: float | None, signed: bool = False) -> str:
    if x is None:
        return "n/a"
    return f"{x:+.3f}" if signed else f"{x:.3f}"


def fmt_p(p: float | None) -> str:
    """A p-value as text: 3 decimals, or '<0.001'."""
    if p is None:
        return "n/a"
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def _not_evaluated_text(not_evaluated: dict[str, str] | None) -> str:
    if not not_evaluated:
        return ""
    listed = "; ".join(f"{m} ({why})" for m, why in sorted(not_evaluated.items()))
    return f" Not evaluated: {listed}."


def _power_text(rows: list[dict], n_pairs: int, alpha: float) -> str:
    """What the number of shared tasks allows, when it rules significance out."""
    short = [r for r in rows if r["n_tasks"] < r["min_tasks_for_significance"]]
    if not short:
        return ""
    needed = short[0]["min_tasks_for_significance"]
    family = "1 comparison" if n_pairs == 1 else f"{n_pairs} comparisons"
    what = "no comparison" if len(short) == len(rows) else "some comparisons"
    return (
        f" Too few tasks: with {min(r['n_tasks'] for r in short)} shared task(s) {what} "
        f"of the best model can reach significance (the paired test's p is at least the "
        f"exact sign test's 2^(1-k) for k differing tasks, Holm-corrected over "
        f"{family}, alpha={alpha:g}); at least {needed} shared tasks are needed."
    )


def decide(
    ranked: list[str],
    comparisons: pa.Table,
    primary: str,
    values: dict[str, tuple[float, float, float]],
    alpha: float = ALPHA,
    not_evaluated: dict[str, str] | None = None,
) -> Decision:
    """Apply the winner rule.

    Args:
        ranked: evaluated models, best first.
        comparisons: the table from :func:`compare_models`.
        primary: the decision metric.
        values: model -> (value, ci_low, ci_high) of the primary metric.
        alpha: family-wise error rate (Holm).
        not_evaluated: model -> reason, for models with no checked sample.
    """
    skipped = _not_evaluated_text(not_evaluated)
    if not ranked:
        text = "No decision: no model has a checked sample." + skipped
        return Decision(None, (), text, "no_decision")
    best = ranked[0]
    v, lo, hi = values[best]
    head = f"{best}: {primary} {_fmt(v)} [95% CI {_fmt(lo)}, {_fmt(hi)}]"
    if len(ranked) == 1:
        return Decision(
            best,
            (best,),
            f"Winner: {head}. Only one model was evaluated, so it wins trivially; "
            "no comparison was made." + skipped,
            "winner",
        )
    rows = comparisons.filter(
        pc.and_(pc.equal(comparisons["metric"], primary), pc.equal(comparisons["model_a"], best))
    ).to_pylist()
    by_other = {r["model_b"]: r for r in rows}
    evidence, tied = [], [best]
    for other in ranked[1:]:
        r = by_other[other]
        evidence.append(
            f"vs {other}: {_fmt(r['diff'], True)} [{_fmt(r['ci_low'], True)}, "
            f"{_fmt(r['ci_high'], True)}], Holm p={fmt_p(r['p_holm'])} "
            f"over {r['n_tasks']} shared tasks"
        )
        if r["verdict"] != "a_better":
            tied.append(other)
    how = f"paired bootstrap over shared tasks, Holm-corrected alpha={alpha:g}"
    if len(tied) == 1:
        text = (
            f"Winner: {head}; it beats every other model significantly ({how}). "
            + "; ".join(evidence)
            + "."
            + skipped
        )
        return Decision(best, (best,), text, "winner")
    behind = [m for m in ranked if m not in tied]
    text = (
        f"Tie: {', '.join(tied)}. No model beats all others significantly on {primary} ({how}); "
        f"these are not significantly worse than the best, {head}; " + "; ".join(evidence) + "."
    )
    if behind:
        text += f" Significantly behind: {', '.join(behind)}."
    n_pairs = int(pc.sum(pc.equal(comparisons["metric"], primary)).as_py() or 0)
    text += _power_text([by_other[m] for m in tied[1:]], n_pairs, alpha) + skipped
    return Decision(None, tuple(tied), text, "tie")


def _run_ids(table: pa.Table) -> str:
    if "run_id" not in table.column_names:
        return ""
    return ",".join(sorted(str(x) for x in pc.unique(table["run_id"]).to_pylist() if x))


def compare_runs(
    prev_results: pa.Table,
    cur_results: pa.Table,
    *,
    primary: str = "pass@1",
    seed: int = 0,
    n_boot: int = 2000,
    alpha: float = ALPHA,
    prev_meta: Mapping[str, Any] | None = None,
    cur_meta: Mapping[str, Any] | None = None,
) -> pa.Table:
    """Change of ``primary`` per model present in both runs, paired over shared tasks.

    ``regression`` is set for a drop significant after Holm over the models compared.
    Models present in one run only get a row with ``present_in`` saying which and no
    values. ``settings_differ`` names every setting the two runs differ in (from the
    results and, when given, each run's meta.json): such runs do not compare like
    with like, and the first line of any report of this table says so.
    """
    check_metric(primary)
    rng = np.random.default_rng(seed)
    prev_results, cur_results = upgrade_results(prev_results), upgrade_results(cur_results)
    differ = "; ".join(
        settings_differences(
            run_settings(prev_results, prev_meta), run_settings(cur_results, cur_meta)
        )
    )
    prev, cur = task_matrix(prev_results), task_matrix(cur_results)
    models = sorted(set(prev.models) & set(cur.models))
    tasks = sorted(set(prev.tasks) & set(cur.tasks))
    prev_pos = {t: i for i, t in enumerate(prev.tasks)}
    cur_pos = {t: i for i, t in enumerate(cur.tasks)}
    pt = [prev_pos[t] for t in tasks]
    ct = [cur_pos[t] for t in tasks]
    pv, cv = prev.values(primary)[:, pt], cur.values(primary)[:, ct]
    cols, masks, means, nonzero = [], [], [], []
    for m in models:
        p_row, c_row = pv[prev.model_index(m)], cv[cur.model_index(m)]
        mask = ~np.isnan(p_row) & ~np.isnan(c_row)
        diff = np.where(mask, c_row - p_row, 0.0)
        cols.append(diff)
        masks.append(mask)
        nonzero.append(int((np.abs(diff) > 1e-12).sum()))
        means.append((p_row[mask].mean(), c_row[mask].mean()) if mask.any() else (None, None))
    if models and tasks:
        diffs, mk = np.stack(cols, axis=1), np.stack(masks, axis=1)
        n = mk.sum(axis=0)
        observed = np.where(n > 0, diffs.sum(axis=0) / np.maximum(n, 1), np.nan)
        boot = bootstrap_means(diffs, n_boot, rng, mk)
        stats = diff_stats(observed, boot, n, np.array(nonzero))
    else:
        stats = np.full((len(models), 4), np.nan)
    p_holm = holm(stats[:, 3])
    needed = min_tasks_for_significance(len(models), alpha)
    prev_id, cur_id = _run_ids(prev_results), _run_ids(cur_results)

    def opt(x: float | None) -> float | None:
        return None if x is None or np.isnan(x) else float(x)

    base = {"metric": primary, "prev_run_id": prev_id, "cur_run_id": cur_id}
    base |= {"settings_differ": differ, "min_tasks_for_significance": needed}
    rows = [
        {
            **base,
            "model": m,
            "present_in": "both",
            "n_tasks": int(mask.sum()),
            "prev_value": opt(pm),
            "cur_value": opt(cm),
            "delta": opt(st[0]),
            "ci_low": opt(st[1]),
            "ci_high": opt(st[2]),
            "p_value": opt(st[3]),
            "p_holm": opt(ph),
            "regression": bool(not np.isnan(ph) and ph < alpha and st[0] < 0),
        }
        for m, mask, (pm, cm), st, ph in zip(models, masks, means, stats, p_holm, strict=True)
    ]
    for where, names in (
        ("previous only", set(prev.models) - set(cur.models)),
        ("current only", set(cur.models) - set(prev.models)),
    ):
        rows += [
            {**base, "model": m, "present_in": where, "n_tasks": 0, "regression": False}
            for m in sorted(names)
        ]
    return pa.Table.from_pylist(rows, schema=HISTORY_SCHEMA)
