"""Two runs compared in words: the headline, a table per metric, each model's change.

Two runs compare like with like only when every setting both record is equal
(``tasks.stats.settings``); otherwise the comparison says so in its first line.
:func:`compare_run_dirs` is what ``vivek compare`` prints.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pyarrow as pa

from tasks.errors import UsageError
from tasks.metrics import METRICS, Metric, check_metric
from tasks.record.results import read_table
from tasks.stats.history import change_sentence, compare_runs
from tasks.stats.settings import read_meta


def first_line(history: pa.Table, metric: str) -> str:
    """The comparison's headline: like with like or not, models in one run, the metric."""
    rows = history.to_pylist()
    differ = rows[0]["settings_differ"] if rows else ""
    only_prev = [r["model"] for r in rows if r["present_in"] == "previous only"]
    only_cur = [r["model"] for r in rows if r["present_in"] == "current only"]
    if differ:
        line = (
            f"NOT LIKE FOR LIKE: the runs differ in {differ}; changes in {metric} below mix "
            "these differences with any change in the models."
        )
    else:
        line = f"Comparing {metric}: same settings in both runs (as far as both record them)."
    if only_prev:
        line += f" Only in the previous run: {', '.join(only_prev)}."
    if only_cur:
        line += f" Only in the current run: {', '.join(only_cur)}."
    return line


def _table(history: pa.Table, metric: str, alpha: float) -> list[str]:
    """One metric's lines: a row per model in both runs, or why there is none."""
    both = [r for r in history.to_pylist() if r["present_in"] == "both"]
    if not both:
        return ["No model appears in both runs."]
    if not any(r["n_tasks"] for r in both):
        return [f"{metric}: no task has a value in both runs (for pass@1+: extra tests)."]
    header = f"{'model':32} {'n':>4} {'before':>7} {'after':>7} {'delta':>7}  95% CI"
    lines = [f"{metric}:", header + " " * 12 + "p(Holm)  MDD    verdict"]

    def f(x: float | None, spec: str) -> str:
        return "n/a" if x is None else format(x, spec)

    for r in both:
        p = r["p_holm"]
        improved = p is not None and p < alpha and (r["delta"] or 0) > 0
        verdict = "REGRESSION" if r["regression"] else ("improved" if improved else "no change")
        lines.append(
            f"{r['model']:32} {r['n_tasks']:>4} {f(r['prev_value'], '7.3f'):>7} "
            f"{f(r['cur_value'], '7.3f'):>7} {f(r['delta'], '+7.3f'):>7}  "
            f"[{f(r['ci_low'], '+.3f')}, {f(r['ci_high'], '+.3f')}]  "
            f"{f(p, '7.3f'):>7}  {f(r['mdd'], '.3f'):>5}  {verdict}"
        )
    return lines


def format_comparison(tables: Mapping[Metric, pa.Table], alpha: float = 0.05) -> str:
    """The text ``vivek compare`` prints: the headline, a table per metric (the primary
    first), then the primary metric's change per model in the words every output uses."""
    (primary, history), *_ = tables.items()
    lines = [first_line(history, primary)]
    for metric, table in tables.items():
        lines += _table(table, metric, alpha)
    both = [r for r in history.to_pylist() if r["present_in"] == "both"]
    if both:
        lines.append("MDD: the smallest change these tasks could show (80% power).")
        lines += [change_sentence(r, alpha) for r in both]
    return "\n".join(lines)


def recorded_metric(run_dir: str, meta: Mapping[str, Any]) -> Metric:
    """The primary metric a run was made with (its meta.json); pass@1 when it names none."""
    recorded = meta.get("primary_metric") or "pass@1"
    for metric in METRICS:
        if recorded == metric:
            return metric
    raise UsageError(
        f"{run_dir.rstrip('/')}/meta.json: primary_metric {recorded!r} is not one of "
        f"{', '.join(METRICS)}; pass --primary-metric to choose one."
    )


def compare_run_dirs(run_a: str, run_b: str, primary: str | None = None) -> str:
    """``vivek compare RUN_A RUN_B``: each model's change, headed by what differs.

    The primary metric is ``primary``, else run B's own (its meta.json), else pass@1;
    pass@1 and pass@1+ are shown beside it.
    """
    prev = read_table(f"{run_a.rstrip('/')}/results.parquet")
    cur = read_table(f"{run_b.rstrip('/')}/results.parquet")
    prev_meta, cur_meta = read_meta(run_a), read_meta(run_b)
    primary = check_metric(primary) if primary else recorded_metric(run_b, cur_meta)
    metrics: list[Metric] = [primary, *(m for m in ("pass@1", "pass@1+") if m != primary)]
    tables = {
        m: compare_runs(prev, cur, primary=m, prev_meta=prev_meta, cur_meta=cur_meta)
        for m in metrics
    }
    return format_comparison(tables)
