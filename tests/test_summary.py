"""summarize(): the summary table, the winner rule on realistic tables, exclusions, cost."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pytest

from tasks.errors import UsageError
from tasks.results import SCHEMA, rows_to_table
from tasks.stats import COMPARISON_SCHEMA, SUMMARY_SCHEMA
from tasks.stats_synthetic import synthetic_results
from tasks.summary import summarize


def _row(model: str, task: str, sample: int, status: str, **extra: Any) -> dict[str, Any]:
    row = {
        "run_id": "r1",
        "model": model,
        "task_id": task,
        "sample": sample,
        "status": status,
        "overall_score": 1.0 if status == "pass" else 0.2,
        "syntax_valid": status != "syntax_error",
        "prompt_tokens": 10,
        "completion_tokens": 20,
        "latency_s": 2.0,
        "cost_usd": 0.01,
        "price_known": True,
    }
    row.update(extra)
    return row


@pytest.fixture(scope="module")
def realistic() -> pa.Table:
    """3 models x 20 tasks x 3 samples: model-0 and model-1 equal, model-2 much worse."""
    return synthetic_results(3, 20, 3, seed=0, shifts=[0.0, 0.0, -0.4])


def test_realistic_table_gives_the_two_equal_models_as_tie_group(realistic):
    result = summarize(realistic, seed=0)
    assert result.winner is None
    assert set(result.tie_group) == {"fake:model-0", "fake:model-1"}
    rows = {r["model"]: r for r in result.summary.to_pylist()}
    assert rows["fake:model-2"]["rank"] == 3
    assert rows["fake:model-2"]["in_tie_group"] is False
    assert all(rows[m]["in_tie_group"] for m in result.tie_group)
    assert not any(r["is_winner"] for r in rows.values())
    assert result.decision.startswith("Tie: ")
    assert "Significantly behind: fake:model-2" in result.decision
    assert result.summary["tie_group"][2].as_py() == list(result.tie_group)
    # Both tie-group members beat model-2 significantly.
    comps = result.comparisons.to_pylist()
    vs_worst = [c for c in comps if c["metric"] == "pass@1" and c["model_b"] == "fake:model-2"]
    assert [c["verdict"] for c in vs_worst] == ["a_better", "a_better"]


def test_schemas_are_the_documented_contract(realistic):
    result = summarize(realistic, n_boot=200)
    assert result.summary.schema.equals(SUMMARY_SCHEMA, check_metadata=True)
    assert result.comparisons.schema.equals(COMPARISON_SCHEMA)
    for field in (*SUMMARY_SCHEMA, *COMPARISON_SCHEMA):
        assert field.metadata[b"description"], field.name
    assert SUMMARY_SCHEMA.names[:4] == ["model", "rank", "primary_metric", "primary_value"]
    assert result.summary.num_rows == 3
    assert result.comparisons.num_rows == 6  # 3 pairs x 2 metrics
    assert result.summary["model"][0].as_py() in result.tie_group


def test_summary_is_deterministic_for_a_seed(realistic):
    a = summarize(realistic, seed=5, n_boot=300)
    b = summarize(realistic, seed=5, n_boot=300)
    assert a.summary.equals(b.summary) and a.comparisons.equals(b.comparisons)


def test_clear_winner_is_named_with_evidence():
    table = synthetic_results(2, 100, 5, seed=3, shifts=[0.0, 0.3])
    result = summarize(table, n_boot=1000)
    assert result.winner == "fake:model-1"
    assert result.tie_group == ("fake:model-1",)
    assert result.decision.startswith("Winner: fake:model-1")
    assert "vs fake:model-0" in result.decision
    assert result.summary["is_winner"].to_pylist() == [True, False]


def test_single_model_wins_trivially():
    result = summarize(synthetic_results(1, 10, 1, seed=0), n_boot=100)
    assert result.winner == "fake:model-0"
    assert "trivially" in result.decision
    assert result.comparisons.num_rows == 0


def test_overall_score_as_primary_metric():
    table = synthetic_results(2, 60, 3, seed=4, shifts=[0.0, 0.35])
    result = summarize(table, primary="overall_score", n_boot=500)
    assert result.primary == "overall_score"
    row = result.summary.to_pylist()[0]
    assert row["primary_metric"] == "overall_score"
    assert row["primary_value"] == row["overall_score"]
    assert result.winner == "fake:model-1"
    with pytest.raises(UsageError):
        summarize(table, primary="pass@7")


def test_pass_at_k_columns_follow_the_sample_count():
    five = summarize(synthetic_results(1, 10, 5, seed=0), n_boot=50).summary.to_pylist()[0]
    assert five["pass_at_5"] is not None and five["pass_at_10"] is None
    assert five["pass_at_1"] <= five["pass_at_5"] <= 1.0
    ten = summarize(synthetic_results(1, 10, 10, seed=0), n_boot=50).summary.to_pylist()[0]
    assert ten["pass_at_5"] <= ten["pass_at_10"]
    assert ten["min_samples_per_task"] == 10


def test_sandbox_errors_are_excluded_and_dropped_tasks_reported():
    rows = [
        _row("a", "t1", 0, "sandbox_error", syntax_valid=False, overall_score=None),
        _row("a", "t1", 1, "sandbox_error", syntax_valid=False, overall_score=None),
        _row("a", "t2", 0, "pass"),
        _row("a", "t2", 1, "sandbox_error", syntax_valid=False),
        _row("b", "t1", 0, "fail"),
        _row("b", "t2", 0, "pass"),
    ]
    result = summarize(rows_to_table(rows), n_boot=200)
    a, b = (next(r for r in result.summary.to_pylist() if r["model"] == m) for m in ("a", "b"))
    assert a["pass_at_1"] == 1.0  # only t2's non-sandbox sample counts
    assert a["n_tasks"] == 1 and a["n_tasks_dropped"] == 1 and a["dropped_tasks"] == ["t1"]
    assert a["n_samples"] == 1 and a["n_sandbox_error"] == 3
    assert a["syntax_valid_rate"] == 1.0  # sandbox rows do not drag the checks down
    assert a["overall_score"] == 1.0
    assert a["prompt_tokens"] == 40  # tokens were still paid for
    assert b["pass_at_1"] == 0.5 and b["n_tasks_dropped"] == 0
    comp = result.comparisons.filter(pa.compute.equal(result.comparisons["metric"], "pass@1"))
    assert comp["n_tasks"].to_pylist() == [1]  # only t2 is shared


def test_model_with_only_sandbox_errors_is_unranked():
    rows = [_row("a", "t1", 0, "pass"), _row("b", "t1", 0, "sandbox_error")]
    result = summarize(rows_to_table(rows), n_boot=50)
    b = result.summary.to_pylist()[1]
    assert b["model"] == "b" and b["rank"] is None and b["primary_value"] is None
    assert b["in_tie_group"] is False and b["pareto_note"] == "no scored task"
    assert result.winner == "a"


def test_unknown_price_nulls_cost_and_leaves_the_pareto_front():
    rows = [
        _row("cheap", "t1", 0, "pass", cost_usd=0.001),
        _row("cheap", "t2", 0, "fail", cost_usd=0.001),
        _row("mystery", "t1", 0, "pass", cost_usd=None, price_known=False),
        _row("mystery", "t2", 0, "pass", cost_usd=0.5),
        _row("local", "t1", 0, "fail", cost_usd=0.0),
        _row("local", "t2", 0, "fail", cost_usd=0.0),
    ]
    result = summarize(rows_to_table(rows), n_boot=100)
    by = {r["model"]: r for r in result.summary.to_pylist()}
    m = by["mystery"]
    assert m["cost_usd"] is None and m["price_unknown"] is True and m["n_price_unknown"] == 1
    assert m["cost_usd_known"] == pytest.approx(0.5)
    assert m["cost_per_pass_usd"] is None
    assert m["on_pareto_front"] is False and "cost unknown" in m["pareto_note"]
    assert by["cheap"]["cost_usd"] == pytest.approx(0.002)
    assert by["cheap"]["cost_per_pass_usd"] == pytest.approx(0.002)
    assert by["cheap"]["on_pareto_front"] and by["local"]["on_pareto_front"]
    assert by["local"]["cost_per_pass_usd"] is None  # no pass: no cost per pass


def test_latency_tokens_and_status_counts():
    rows = [
        _row("a", f"t{i}", 0, "pass" if i % 2 else "timeout", latency_s=float(i + 1))
        for i in range(10)
    ]
    rows.append(_row("a", "t10", 0, "generation_error", latency_s=0.0, completion_tokens=None))
    row = summarize(rows_to_table(rows), n_boot=50).summary.to_pylist()[0]
    assert row["latency_p50_s"] == pytest.approx(5.5)
    assert row["latency_p95_s"] == pytest.approx(9.55)
    assert row["tokens_per_s"] == pytest.approx(200 / 55)
    assert (row["n_pass"], row["n_timeout"], row["n_generation_error"]) == (5, 5, 1)
    assert row["completion_tokens"] == 200


def test_empty_table():
    result = summarize(SCHEMA.empty_table(), n_boot=10)
    assert result.summary.num_rows == 0 and result.winner is None
    assert result.decision.startswith("No decision")


_MEMORY_SCRIPT = """
import resource
from tasks.stats_synthetic import synthetic_results
from tasks.summary import summarize
table = synthetic_results(10, 10_000, 10, seed=0, sandbox_error_rate=0.01)
assert table.num_rows == 1_000_000
result = summarize(table, n_boot=2000)
assert result.summary.num_rows == 10
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


@pytest.mark.slow
def test_a_million_rows_stay_under_1_5_gb():
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-c", _MEMORY_SCRIPT], capture_output=True, text=True, check=True
    )
    peak_mib = int(out.stdout.split()[-1]) / 1024  # ru_maxrss is KiB on Linux
    assert peak_mib < 1536, f"peak RSS {peak_mib:.0f} MiB"
