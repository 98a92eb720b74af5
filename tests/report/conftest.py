from __future__ import annotations

import pyarrow as pa
import pytest
from synthetic import synthetic_results

from tasks.stats import compare_runs
from tasks.stats.summary import SummaryResult, summarize


@pytest.fixture(scope="session")
def results() -> pa.Table:
    # model-1's prices are unknown; some sandbox errors; model-2 clearly worse.
    return synthetic_results(
        3, 20, 3, seed=0, shifts=[0.0, 0.0, -0.4], sandbox_error_rate=0.05, unknown_price_models=[1]
    )


@pytest.fixture(scope="session")
def summary(results) -> SummaryResult:
    return summarize(results, n_boot=300)


@pytest.fixture(scope="session")
def history(results) -> pa.Table:
    prev = synthetic_results(3, 20, 3, seed=0, shifts=[0.0, 0.45, -0.4], run_id="before")
    return compare_runs(prev, results, n_boot=300)


@pytest.fixture
def meta() -> dict:
    return {
        "run_id": "20260101T000000Z-abcd",
        "suite": "smoke",
        "models": ["fake:model-0", "fake:model-1", "fake:model-2"],
        "created": "2026-01-01T00:00:00Z",
        "sandbox": {"backend": "bwrap", "network": False, "timeout_s": 10},
    }
