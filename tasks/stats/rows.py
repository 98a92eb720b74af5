"""Per-model aggregates over rows: check means, status counts, tokens, cost, latency.

Every check mean is over the rows where that check ran: unscored rows
(sandbox_error, suite_error) and rows where the check is null (not measured) are
left out, and ``n_<check>`` says how many rows the mean is over. Tokens and cost
count every row: those calls were paid for. A failed generation with no cost is
not an unknown price: there was nothing to price.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tasks.record.results import SCHEMA
from tasks.record.types import STATUSES, UNSCORED_STATUSES

# summary column -> results column; the mean of a boolean is a rate.
RATES = {
    "syntax_valid_rate": "syntax_valid",
    "imports_resolved_rate": "imports_resolved",
    "runs_without_error_rate": "runs_without_error",
    "follows_style_guide_rate": "follows_style_guide",
}
MEANS = {
    "coverage_mean": "coverage",
    "type_hint_ratio_mean": "type_hint_ratio",
    "docstring_ratio_mean": "docstring_ratio",
    "ruff_violations_mean": "ruff_violations",
    "execution_time_ms_mean": "execution_time_ms",
    "peak_memory_mb_mean": "peak_memory_mb",
}
RATIOS = {
    "tests_pass_rate": ("tests_passed", "tests_total"),
    "extra_tests_pass_rate": ("extra_tests_passed", "extra_tests_total"),
}
# summary metric -> the column counting the rows it is computed over.
CHECK_COUNTS = {
    "syntax_valid_rate": "n_syntax_valid",
    "imports_resolved_rate": "n_imports_resolved",
    "runs_without_error_rate": "n_runs_without_error",
    "follows_style_guide_rate": "n_follows_style_guide",
    "tests_pass_rate": "n_tests",
    "extra_tests_pass_rate": "n_extra_tests",
    "coverage_mean": "n_coverage",
    "type_hint_ratio_mean": "n_type_hint_ratio",
    "docstring_ratio_mean": "n_docstring_ratio",
    "ruff_violations_mean": "n_ruff_violations",
    "execution_time_ms_mean": "n_execution_time_ms",
    "peak_memory_mb_mean": "n_peak_memory_mb",
}
STATUS_COLUMNS = {f"n_{s}": s for s in STATUSES}
_NULL_F = pa.scalar(None, pa.float64())


def _column(results: pa.Table, name: str) -> pa.ChunkedArray:
    """A results column, or nulls of its schema type when the table lacks it."""
    if name in results.column_names:
        return results[name]
    return pa.chunked_array([pa.nulls(results.num_rows, SCHEMA.field(name).type)])


def _index(values: pa.ChunkedArray, universe: list[str]) -> np.ndarray:
    idx = pc.index_in(values, value_set=pa.array(universe, pa.string()))
    return pc.fill_null(idx, -1).to_numpy()


def _aligned(grouped: pa.Table, key: str, models: list[str], column: str) -> np.ndarray:
    out = np.full(len(models), np.nan)
    pos = _index(grouped[key], models)
    vals = pc.cast(grouped[column], pa.float64()).to_numpy(zero_copy_only=False)
    out[pos[pos >= 0]] = vals[pos >= 0]
    return out


def row_stats(results: pa.Table, models: list[str]) -> dict[str, np.ndarray]:
    """Aggregates per model, each an array aligned with ``models`` (NaN = unknown)."""
    status = results["status"]
    unscored = pc.fill_null(pc.is_in(status, pa.array(sorted(UNSCORED_STATUSES))), False)
    scored = pc.invert(unscored)

    def when_scored(name: str) -> pa.ChunkedArray:
        return pc.if_else(scored, pc.cast(_column(results, name), pa.float64()), _NULL_F)

    cost = _column(results, "cost_usd")
    price_known = pc.fill_null(_column(results, "price_known"), True)
    no_reply = pc.and_(pc.fill_null(pc.equal(status, "generation_error"), False), pc.is_null(cost))
    unknown = pc.and_(pc.or_(pc.is_null(cost), pc.invert(price_known)), pc.invert(no_reply))
    data: dict[str, pa.ChunkedArray] = {"model": results["model"]}
    for out, src in {**RATES, **MEANS}.items():
        data[out] = when_scored(src)
    for num, den in RATIOS.values():
        data[num], data[den] = when_scored(num), when_scored(den)
    data["prompt_tokens"] = pc.cast(_column(results, "prompt_tokens"), pa.float64())
    data["completion_tokens"] = pc.cast(_column(results, "completion_tokens"), pa.float64())
    data["cost_known"] = pc.if_else(unknown, _NULL_F, pc.cast(cost, pa.float64()))
    data["n_price_unknown"] = pc.cast(unknown, pa.int64())
    data["rows"] = pa.chunked_array([np.ones(results.num_rows, dtype=np.int64)])
    aggs = [(k, "mean") for k in (*RATES, *MEANS)]
    aggs += [(k, "count") for k in (*RATES, *MEANS)]
    aggs += [(k, "sum") for pair in RATIOS.values() for k in pair]
    aggs += [(den, "count") for _, den in RATIOS.values()]
    aggs += [(k, "sum") for k in ("prompt_tokens", "completion_tokens", "cost_known")]
    aggs += [("n_price_unknown", "sum"), ("rows", "sum")]
    grouped = pa.table(data).group_by("model").aggregate(aggs)

    stats: dict[str, np.ndarray] = {}
    for out in (*RATES, *MEANS):
        stats[out] = _aligned(grouped, "model", models, f"{out}_mean")
        stats[CHECK_COUNTS[out]] = _aligned(grouped, "model", models, f"{out}_count")
    for out, (_, den) in RATIOS.items():
        stats[CHECK_COUNTS[out]] = _aligned(grouped, "model", models, f"{den}_count")
    for out, (num, den) in RATIOS.items():
        top = _aligned(grouped, "model", models, f"{num}_sum")
        bottom = _aligned(grouped, "model", models, f"{den}_sum")
        with np.errstate(invalid="ignore", divide="ignore"):
            stats[out] = np.where(bottom > 0, top / bottom, np.nan)
    for k in ("prompt_tokens", "completion_tokens", "cost_known", "n_price_unknown", "rows"):
        stats[k] = _aligned(grouped, "model", models, f"{k}_sum")
    stats["cost_known"] = np.nan_to_num(stats["cost_known"], nan=0.0)
    stats.update(_status_counts(results, models))
    stats.update(_retries(results, models))
    stats.update(_latency(results, models))
    return stats


def _status_counts(results: pa.Table, models: list[str]) -> dict[str, np.ndarray]:
    grouped = (
        results.select(["model", "status"])
        .group_by(["model", "status"])
        .aggregate([("model", "count")])
    )
    counts = np.zeros((len(models), len(STATUSES)), dtype=np.int64)
    mi = _index(grouped["model"], models)
    si = _index(grouped["status"], list(STATUSES))
    ok = (mi >= 0) & (si >= 0)
    counts[mi[ok], si[ok]] = grouped["model_count"].to_numpy()[ok]
    return {col: counts[:, j] for j, col in enumerate(STATUS_COLUMNS)}


def _retries(results: pa.Table, models: list[str]) -> dict[str, np.ndarray]:
    """Per model: rows re-run once (``retried``) and those whose verdict changed (flaky)."""
    retried = pc.fill_null(_column(results, "retried"), False)
    first = _column(results, "first_status")
    changed = pc.and_(retried, pc.fill_null(pc.not_equal(first, results["status"]), False))
    mi = _index(results["model"], models)
    keep = mi >= 0
    out = {}
    for name, flags in (("n_retried", retried), ("n_flaky", changed)):
        values = pc.cast(flags, pa.int64()).to_numpy(zero_copy_only=False)
        out[name] = np.bincount(mi[keep], weights=values[keep], minlength=len(models))
        out[name] = out[name].astype(np.int64)
    return out


def assembly_counts(results: pa.Table, models: list[str]) -> list[str]:
    """Per model, JSON ``{assembly path: rows}`` (how each program was built; '{}' if unknown)."""
    import json

    col = _column(results, "assembly")
    table = pa.table({"model": results["model"], "assembly": col})
    table = table.filter(pc.is_valid(table["assembly"]))
    grouped = table.group_by(["model", "assembly"]).aggregate([("model", "count")])
    out: dict[str, dict[str, int]] = {m: {} for m in models}
    for r in grouped.to_pylist():
        if r["model"] in out:
            out[r["model"]][r["assembly"]] = r["model_count"]
    return [json.dumps(out[m], sort_keys=True) for m in models]


def _latency(results: pa.Table, models: list[str]) -> dict[str, np.ndarray]:
    """p50/p95 latency and tokens per second over rows with a positive latency."""
    lat = pc.cast(_column(results, "latency_s"), pa.float64()).to_numpy(zero_copy_only=False)
    tok = pc.cast(_column(results, "completion_tokens"), pa.float64())
    tok = tok.to_numpy(zero_copy_only=False)
    mi = _index(results["model"], models)
    keep = (mi >= 0) & (lat > 0)  # NaN (null) compares False
    mi, lat, tok = mi[keep], lat[keep], tok[keep]
    order = np.argsort(mi, kind="stable")
    mi, lat, tok = mi[order], lat[order], tok[order]
    bounds = np.searchsorted(mi, np.arange(len(models) + 1))
    p50, p95, tps = (np.full(len(models), np.nan) for _ in range(3))
    for j in range(len(models)):
        seg = slice(bounds[j], bounds[j + 1])
        if bounds[j + 1] > bounds[j]:
            p50[j], p95[j] = np.quantile(lat[seg], [0.5, 0.95])
            has_tok = ~np.isnan(tok[seg])
            if has_tok.any():
                tps[j] = tok[seg][has_tok].sum() / lat[seg][has_tok].sum()
    return {"latency_p50_s": p50, "latency_p95_s": p95, "tokens_per_s": tps}
