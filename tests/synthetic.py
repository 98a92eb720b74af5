"""Synthetic results tables with known truth, for tests and the benchmark (test helper).

Lives under tests/: it is not part of the product. Tests import it as ``synthetic``
(tests/ is on sys.path through its conftest); bench/aggregation.py loads it by path.

Each task has a base pass probability drawn from U(0.1, 0.85); model m passes a
sample with probability ``clip(base + shift[m], 0, 1)``, so the true pass@1 gap
between two models is their shift difference. Built column-wise with numpy, so
a million rows take seconds and little memory.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa

from tasks.record.checks import CHECKER_VERSION
from tasks.record.results import COLUMN_NAMES, SCHEMA, rows_to_table
from tasks.record.row import Row

_FAIL_STATUSES = np.array(["fail", "fail", "fail", "error", "timeout", "syntax_error", "no_code"])


def _strings(labels: Sequence[str], index: np.ndarray) -> pa.Array:
    dictionary = pa.array(list(labels), pa.string())
    return pa.DictionaryArray.from_arrays(pa.array(index, pa.int32()), dictionary).cast(pa.string())


def synthetic_results(
    n_models: int,
    n_tasks: int,
    n_samples: int,
    seed: int,
    *,
    shifts: Sequence[float] | None = None,
    sandbox_error_rate: float = 0.0,
    unknown_price_models: Sequence[int] = (),
    run_id: str = "synthetic",
    plus_fail_rate: float = 0.1,
) -> pa.Table:
    """A results table with exactly ``tasks.record.results.SCHEMA``.

    Args:
        n_models, n_tasks, n_samples: the grid; rows = their product.
        seed: seeds every draw.
        shifts: per-model shift of the pass probability (default: all 0, equal models).
        sandbox_error_rate: share of rows turned into sandbox_error.
        unknown_price_models: indices of models whose cost is null (price unknown).
        run_id: value of the run_id column.
        plus_fail_rate: share of passing samples that fail an extra test (plus_passed False);
            every task has extra tests, and rows that never ran have plus_passed null.
    """
    rng = np.random.default_rng(seed)
    shift = np.zeros(n_models) if shifts is None else np.asarray(shifts, dtype=np.float64)
    if shift.shape != (n_models,):
        raise ValueError("shifts needs one value per model")
    base = rng.uniform(0.1, 0.85, size=n_tasks)
    prob = np.clip(base[None, :] + shift[:, None], 0.0, 1.0)  # (M, T)
    n = n_models * n_tasks * n_samples
    m_idx = np.repeat(np.arange(n_models), n_tasks * n_samples)
    t_idx = np.tile(np.repeat(np.arange(n_tasks), n_samples), n_models)
    s_idx = np.tile(np.arange(n_samples), n_models * n_tasks)
    passed = rng.random(n) < prob[m_idx, t_idx]
    status = np.where(passed, "pass", _FAIL_STATUSES[rng.integers(0, _FAIL_STATUSES.size, n)])
    if sandbox_error_rate > 0:
        status = np.where(rng.random(n) < sandbox_error_rate, "sandbox_error", status)
    ok_code = ~np.isin(status, ["syntax_error", "no_code", "sandbox_error"])
    score = np.where(passed, rng.uniform(0.7, 1.0, n), rng.uniform(0.0, 0.5, n))
    completion_tokens = rng.integers(50, 400, n)
    latency = rng.lognormal(mean=0.0, sigma=0.5, size=n) * (1 + m_idx * 0.25)
    price = 1e-6 * (1 + m_idx)
    cost = completion_tokens * price
    known = ~np.isin(m_idx, np.asarray(unknown_price_models, dtype=np.int64))
    tests_total = np.full(n, 4, dtype=np.int32)
    tests_passed = np.where(passed, 4, rng.integers(0, 4, n)).astype(np.int32)

    def masked_float(values: np.ndarray) -> pa.Array:
        return pa.array(values, pa.float64(), mask=~ok_code)

    columns: dict[str, pa.Array] = {
        "run_id": pa.array(np.full(n, run_id), pa.string()),
        "suite": pa.array(np.full(n, "synthetic"), pa.string()),
        "model": _strings([f"fake:model-{i}" for i in range(n_models)], m_idx),
        "provider": pa.array(np.full(n, "fake"), pa.string()),
        "task_id": _strings([f"task-{i:05d}" for i in range(n_tasks)], t_idx),
        "sample": pa.array(s_idx, pa.int32()),
        "status": pa.array(status, pa.string()),
        "syntax_valid": pa.array(ok_code | (status == "fail"), pa.bool_()),
        "imports_resolved": pa.array(ok_code, pa.bool_()),
        "runs_without_error": pa.array(passed | (status == "fail"), pa.bool_()),
        "tests_passed": pa.array(tests_passed, pa.int32()),
        "tests_total": pa.array(tests_total, pa.int32()),
        "tests_failed": pa.array(tests_total - tests_passed, pa.int32()),
        "coverage": masked_float(rng.uniform(0.5, 1.0, n)),
        "follows_style_guide": pa.array(rng.random(n) < 0.6, pa.bool_()),
        "type_hint_ratio": masked_float(rng.uniform(0, 1, n)),
        "docstring_ratio": masked_float(rng.uniform(0, 1, n)),
        "execution_time_ms": masked_float(rng.uniform(5, 200, n)),
        "peak_memory_mb": masked_float(rng.uniform(10, 60, n)),
        "overall_score": pa.array(score, pa.float64()),
        "prompt_tokens": pa.array(rng.integers(80, 300, n), pa.int64()),
        "completion_tokens": pa.array(completion_tokens, pa.int64()),
        "latency_s": pa.array(latency, pa.float64()),
        "cost_usd": pa.array(cost, pa.float64(), mask=~known),
        "price_known": pa.array(known, pa.bool_()),
        "checker_version": pa.array(np.full(n, CHECKER_VERSION), pa.string()),
    }
    # Drawn last, so the other columns are what they were before plus_passed existed.
    plus = passed & (rng.random(n) >= plus_fail_rate)
    columns["plus_passed"] = pa.array(plus, pa.bool_(), mask=~ok_code)
    columns["retried"] = pa.array(np.zeros(n, dtype=bool), pa.bool_())
    arrays = [columns.get(f.name, pa.nulls(n, f.type)) for f in SCHEMA]
    return pa.Table.from_arrays(arrays, schema=SCHEMA)


def row_of(**values: object) -> Row:
    """A result row from some of its columns, the others null (a hand-made or older row).

    The product builds rows only with ``Row``'s constructors; tests that need a particular
    table name the columns they care about. An unknown column is a TypeError.
    """
    return Row(**(dict.fromkeys(COLUMN_NAMES) | values))  # type: ignore[arg-type]


def table_of(rows: Sequence[dict]) -> pa.Table:
    """A results table from partial rows (see :func:`row_of`)."""
    return rows_to_table([row_of(**r) for r in rows])
