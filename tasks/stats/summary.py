"""Summarise a results table: one row per model, pairwise comparisons, the decision.

Scores come from per-(model, task) counts; unscored samples (``sandbox_error``,
``suite_error``) are dropped before anything is scored, and a task whose samples
were all unscored drops out for that model (``n_tasks_dropped``). A model none of
whose samples got a reply and was checked is listed as not evaluated, with the
reason, and is neither ranked nor compared. Intervals resample tasks (Wilson for
pass@1 and pass@1+ with one sample per task); comparisons pair models over the tasks
both scored. pass@k+ is over the tasks with extra tests, and how many tasks have none
is counted. Every check mean comes with the number of rows it is over
(``n_<check>``). See ``tasks.stats.decision`` for the winner rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tasks.metrics import METRICS, Metric, check_metric
from tasks.record.upgrade import upgrade_results
from tasks.stats.compare import bootstrap_all, compare_models, model_cis, pairs_of, rank_order
from tasks.stats.counts import TaskMatrix, task_matrix
from tasks.stats.decision import decide
from tasks.stats.paired import ALPHA
from tasks.stats.pareto import pareto_front
from tasks.stats.passk import pass_at_k_array
from tasks.stats.rows import (
    CHECK_COUNTS,
    MEANS,
    RATES,
    RATIOS,
    STATUS_COLUMNS,
    assembly_counts,
    row_stats,
)
from tasks.stats.schema import COMPARISON_SCHEMA, SummaryRow, summary_table


@dataclass(frozen=True)
class SummaryResult:
    """What :func:`summarize` returns.

    ``rows``: one :class:`SummaryRow` per model, best first; ``summary`` is them as a
    table of ``SUMMARY_SCHEMA``; ``comparisons`` has ``COMPARISON_SCHEMA``. ``winner``
    is None on a tie; ``tie_group`` then names the models tied at the top (with a
    winner it is just the winner). ``decision_kind`` is ``winner``, ``tie``, ``single``
    or ``no_decision``.
    """

    rows: tuple[SummaryRow, ...]
    comparisons: pa.Table
    primary: Metric
    winner: str | None
    tie_group: tuple[str, ...]
    decision: str
    decision_kind: str = "tie"

    @property
    def summary(self) -> pa.Table:
        return summary_table(list(self.rows))


def _not_evaluated(results: pa.Table, tm: TaskMatrix) -> dict[str, str]:
    """Model -> why none of its samples was checked, for models never evaluated."""
    out = {}
    for i in np.flatnonzero(~tm.evaluated):
        model = tm.models[i]
        rows = results.filter(pc.equal(results["model"], model))
        statuses = sorted(set(rows["status"].to_pylist()) - {None})
        errors = [e for e in rows["error"].to_pylist() if e]
        why = f"every sample was {' or '.join(statuses) or 'missing'}"
        if errors:
            common = max(set(errors), key=errors.count)
            why += f"; most common error: {common[:120]}"
        out[model] = why
    return out


def _mean(tm: TaskMatrix, metric: Metric) -> np.ndarray:
    """Mean of ``metric`` over the tasks where each model has a value (NaN where none)."""
    mask = tm.mask(metric)
    count = mask.sum(axis=1)
    total = np.where(mask, tm.values(metric), 0.0).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def _pass_at(tm: TaskMatrix, k: int, metric: Metric = "pass@1") -> np.ndarray:
    """Mean pass@k (or pass@k+) over its tasks; NaN unless each of them has >= k samples."""
    out = np.full(len(tm.models), np.nan)
    mask = tm.mask(metric)
    for i in range(len(tm.models)):
        n, c = tm.n[i][mask[i]], tm.passes(metric)[i][mask[i]]
        if n.size and n.min() >= k:
            out[i] = pass_at_k_array(n, c, k).mean()
    return out


def _ranks(order: list[int], primary_values: np.ndarray, m: int) -> np.ndarray:
    """Competition ranks (1, 2, 2, 4) by primary value; 0 = unranked."""
    ranks = np.zeros(m, dtype=np.int64)
    for pos, i in enumerate(order):
        prev = order[pos - 1] if pos else None
        same = prev is not None and primary_values[prev] == primary_values[i]
        ranks[i] = ranks[prev] if same else pos + 1
    return ranks


def _opt(x: float) -> float | None:
    return None if np.isnan(x) else float(x)


def _opt_int(x: float) -> int | None:
    return None if np.isnan(x) else int(x)


def summarize(
    results: pa.Table,
    *,
    primary: Metric = "pass@1",
    seed: int = 0,
    n_boot: int = 2000,
    alpha: float = ALPHA,
) -> SummaryResult:
    """Score every model, compare every pair, and apply the winner rule.

    Args:
        results: a table with ``tasks.record.results.SCHEMA`` (missing check columns read as null).
        primary: the decision metric (``tasks.metrics.METRICS``).
        seed: seeds every bootstrap; same input and seed give the same output.
        n_boot: bootstrap replicates for CIs and tests.
        alpha: family-wise error rate of the comparisons (Holm).
    """
    primary = check_metric(primary)
    rng = np.random.default_rng(seed)
    results = upgrade_results(results)
    tm = task_matrix(results)
    models = list(tm.models)
    m = len(models)
    skipped = _not_evaluated(results, tm)
    hide = ~tm.evaluated  # never evaluated: no metric, no interval, no rank
    metric_values = {k: np.where(hide, np.nan, _mean(tm, k)) for k in METRICS}
    order = rank_order(tm, primary)
    pairs = pairs_of(order)
    reps = bootstrap_all(tm, pairs, n_boot, rng)
    cis = {
        k: (np.where(hide, np.nan, lo), np.where(hide, np.nan, hi))
        for k, (lo, hi) in model_cis(tm, reps).items()
    }
    comparisons = compare_models(tm, pairs, reps, alpha)
    pv, (plo, phi) = metric_values[primary], cis[primary]
    decision = decide(
        [models[i] for i in order],
        comparisons,
        primary,
        {models[i]: (_opt(pv[i]), _opt(plo[i]), _opt(phi[i])) for i in order},
        alpha,
        skipped,
    )
    rows = row_stats(results, models)
    n_unknown = np.nan_to_num(rows["n_price_unknown"]).astype(np.int64)
    cost = np.where(n_unknown == 0, rows["cost_known"], np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        cost_per_sample = cost / rows["rows"]
        n_pass = rows["n_pass"]
        cost_per_pass = np.where(n_pass > 0, cost / np.maximum(n_pass, 1), np.nan)
    front = pareto_front(cost_per_sample, pv)
    ranks = _ranks(order, pv, m)
    dropped = tm.attempted & ~tm.scored
    notes = [
        f"not evaluated: {skipped[models[i]]}"
        if models[i] in skipped
        else "no scored task"
        if np.isnan(pv[i])
        else "cost unknown: not placed on the front"
        if np.isnan(cost_per_sample[i])
        else ""
        for i in range(m)
    ]
    min_n = [int(tm.n[i][tm.scored[i]].min()) if tm.scored[i].any() else None for i in range(m)]
    with_extra = tm.mask("pass@1+").sum(axis=1)
    plus_at = {k: np.where(hide, np.nan, _pass_at(tm, k, "pass@1+")) for k in (5, 10)}
    checks: dict[str, list[Any]] = {
        name: [_opt(x) for x in rows[name]] for name in (*RATES, *RATIOS, *MEANS)
    } | {
        CHECK_COUNTS[name]: [0 if np.isnan(x) else int(x) for x in rows[CHECK_COUNTS[name]]]
        for name in (*RATES, *RATIOS, *MEANS)
    }
    counts: dict[str, list[Any]] = {
        name: rows[name].tolist() for name in (*STATUS_COLUMNS, "n_retried", "n_flaky")
    }
    assembly = assembly_counts(results, models)
    pass_at = {k: np.where(hide, np.nan, _pass_at(tm, k)) for k in (5, 10)}
    n_scored = tm.scored.sum(axis=1)

    def summary_row(i: int) -> SummaryRow:
        name = models[i]
        return SummaryRow(
            model=name,
            rank=int(ranks[i]) or None,
            primary_metric=primary,
            primary_value=_opt(pv[i]),
            primary_ci_low=_opt(plo[i]),
            primary_ci_high=_opt(phi[i]),
            is_winner=name == decision.winner,
            decision_kind=decision.kind,
            evaluated=bool(tm.evaluated[i]),
            not_evaluated_reason=skipped.get(name, ""),
            in_tie_group=name in decision.tie_group,
            tie_group=tuple(decision.tie_group),
            decision=decision.text,
            n_tasks=int(n_scored[i]),
            n_tasks_dropped=int(dropped[i].sum()),
            dropped_tasks=tuple(t for t, d in zip(tm.tasks, dropped[i], strict=True) if d),
            n_samples=int(tm.n[i].sum()),
            min_samples_per_task=min_n[i],
            pass_at_1=_opt(metric_values["pass@1"][i]),
            pass_at_1_ci_low=_opt(cis["pass@1"][0][i]),
            pass_at_1_ci_high=_opt(cis["pass@1"][1][i]),
            pass_at_5=_opt(pass_at[5][i]),
            pass_at_10=_opt(pass_at[10][i]),
            pass_at_1_plus=_opt(metric_values["pass@1+"][i]),
            pass_at_1_plus_ci_low=_opt(cis["pass@1+"][0][i]),
            pass_at_1_plus_ci_high=_opt(cis["pass@1+"][1][i]),
            pass_at_5_plus=_opt(plus_at[5][i]),
            pass_at_10_plus=_opt(plus_at[10][i]),
            n_tasks_plus=int(with_extra[i]),
            n_tasks_no_extra=int(n_scored[i] - with_extra[i]),
            overall_score=_opt(metric_values["overall_score"][i]),
            overall_score_ci_low=_opt(cis["overall_score"][0][i]),
            overall_score_ci_high=_opt(cis["overall_score"][1][i]),
            assembly_counts=assembly[i],
            prompt_tokens=_opt_int(rows["prompt_tokens"][i]),
            completion_tokens=_opt_int(rows["completion_tokens"][i]),
            cost_usd=_opt(cost[i]),
            cost_usd_known=float(rows["cost_known"][i]),
            n_price_unknown=int(n_unknown[i]),
            price_unknown=bool(n_unknown[i] > 0),
            cost_per_sample_usd=_opt(cost_per_sample[i]),
            cost_per_pass_usd=_opt(cost_per_pass[i]),
            on_pareto_front=bool(front[i]),
            pareto_note=notes[i],
            latency_p50_s=_opt(rows["latency_p50_s"][i]),
            latency_p95_s=_opt(rows["latency_p95_s"][i]),
            tokens_per_s=_opt(rows["tokens_per_s"][i]),
            **{k: v[i] for k, v in checks.items()},
            **{k: v[i] for k, v in counts.items()},
        )

    sort_key = [order.index(i) if i in order else m + i for i in range(m)]
    summary = tuple(summary_row(int(i)) for i in np.argsort(sort_key, kind="stable"))
    return SummaryResult(
        rows=summary,
        comparisons=comparisons.cast(COMPARISON_SCHEMA),
        primary=primary,
        winner=decision.winner,
        tie_group=decision.tie_group,
        decision=decision.text,
        decision_kind=decision.kind,
    )
