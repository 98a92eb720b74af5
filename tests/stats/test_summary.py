"""summarize(): the summary table, the winner rule on realistic tables, exclusions, cost."""

from __future__ import annotations

import json
from typing import Any

import pyarrow as pa
import pytest
from synthetic import synthetic_results, table_of

from tasks.errors import UsageError
from tasks.record.results import SCHEMA
from tasks.stats import COMPARISON_SCHEMA, SUMMARY_SCHEMA
from tasks.stats.summary import summarize


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
    assert result.comparisons.num_rows == 9  # 3 pairs x 3 metrics
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
    result = summarize(table_of(rows), n_boot=200)
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
    result = summarize(table_of(rows), n_boot=50)
    b = result.summary.to_pylist()[1]
    assert b["model"] == "b" and b["rank"] is None and b["primary_value"] is None
    assert b["in_tie_group"] is False and b["evaluated"] is False
    assert b["pareto_note"] == "not evaluated: every sample was sandbox_error"
    assert result.winner is None and result.decision_kind == "single"  # nothing to compare
    assert result.decision.startswith("Evaluated (nothing to compare): a")


def test_unknown_price_nulls_cost_and_leaves_the_pareto_front():
    rows = [
        _row("cheap", "t1", 0, "pass", cost_usd=0.001),
        _row("cheap", "t2", 0, "fail", cost_usd=0.001),
        _row("mystery", "t1", 0, "pass", cost_usd=None, price_known=False),
        _row("mystery", "t2", 0, "pass", cost_usd=0.5),
        _row("local", "t1", 0, "fail", cost_usd=0.0),
        _row("local", "t2", 0, "fail", cost_usd=0.0),
    ]
    result = summarize(table_of(rows), n_boot=100)
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
    row = summarize(table_of(rows), n_boot=50).summary.to_pylist()[0]
    assert row["latency_p50_s"] == pytest.approx(5.5)
    assert row["latency_p95_s"] == pytest.approx(9.55)
    assert row["tokens_per_s"] == pytest.approx(200 / 55)
    assert (row["n_pass"], row["n_timeout"], row["n_generation_error"]) == (5, 5, 1)
    assert row["completion_tokens"] == 200


_MEASURED = {
    "coverage": 0.8,
    "execution_time_ms": 12.0,
    "peak_memory_mb": 3.0,
    "ruff_violations": 2,
    "type_hint_ratio": 0.5,
    "docstring_ratio": 1.0,
    "tests_passed": 4,
    "tests_total": 4,
    "tests_failed": 0,
    "runs_without_error": True,
    "imports_resolved": True,
    "follows_style_guide": False,
}
_NOT_MEASURED = dict.fromkeys(_MEASURED)


def _gen_error(model: str, task: str, **extra: Any) -> dict[str, Any]:
    row = _row(model, task, 0, "generation_error", **_NOT_MEASURED, syntax_valid=None)
    row.update(cost_usd=None, price_known=None, prompt_tokens=None, completion_tokens=None)
    row.update(latency_s=None, overall_score=0.0, error="HTTP 503")
    row.update(extra)
    return row


def test_means_are_over_measured_rows_only_and_say_how_many():
    """Issue 14: failing to generate must not make a model look faster, leaner, cleaner."""
    rows = [_row("steady", f"t{i}", 0, "pass", **_MEASURED) for i in range(4)]
    rows += [_row("flaky", f"t{i}", 0, "pass", **_MEASURED) for i in range(2)]
    rows += [_gen_error("flaky", f"t{i}") for i in (2, 3)]
    by = {r["model"]: r for r in summarize(table_of(rows), n_boot=50).summary.to_pylist()}
    steady, flaky = by["steady"], by["flaky"]
    for mean, count in (
        ("coverage_mean", "n_coverage"),
        ("execution_time_ms_mean", "n_execution_time_ms"),
        ("peak_memory_mb_mean", "n_peak_memory_mb"),
        ("ruff_violations_mean", "n_ruff_violations"),
        ("type_hint_ratio_mean", "n_type_hint_ratio"),
        ("docstring_ratio_mean", "n_docstring_ratio"),
        ("tests_pass_rate", "n_tests"),
        ("runs_without_error_rate", "n_runs_without_error"),
        ("imports_resolved_rate", "n_imports_resolved"),
        ("follows_style_guide_rate", "n_follows_style_guide"),
    ):
        assert flaky[mean] == pytest.approx(steady[mean]), mean
        assert (steady[count], flaky[count]) == (4, 2), count
    assert flaky["pass_at_1"] == 0.5 and flaky["n_generation_error"] == 2
    assert flaky["n_extra_tests"] == 0 and flaky["extra_tests_pass_rate"] is None
    # Failed generations cost nothing and do not make the price unknown.
    assert flaky["price_unknown"] is False and flaky["cost_usd"] == pytest.approx(0.02)
    assert flaky["pareto_note"] == ""  # placed on the cost axis


def test_old_results_with_zeros_for_not_measured_read_the_same():
    """A results file written before checker version 2 (zeros, no assembly column)."""
    zeros = {k: 0 for k in _MEASURED} | {"runs_without_error": False}
    zeros |= {"imports_resolved": False, "follows_style_guide": False}
    rows = [_row("flaky", f"t{i}", 0, "pass", **_MEASURED) for i in range(2)]
    rows += [
        _row("flaky", f"t{i}", 0, "generation_error", **zeros, cost_usd=None, price_known=True)
        for i in (2, 3)
    ]
    loading = _MEASURED | {"coverage": 0.0, "runs_without_error": False, "tests_passed": 0}
    rows += [_row("flaky", "t4", 0, "import_error", **loading, missing_imports=[])]
    table = table_of([r | {"checker_version": "1"} for r in rows])
    table = table.drop_columns(["assembly", "temperature_sent"])
    row = summarize(table, n_boot=50).summary.to_pylist()[0]
    assert row["coverage_mean"] == pytest.approx(0.8) and row["n_coverage"] == 2
    assert row["execution_time_ms_mean"] == pytest.approx(12.0)
    assert row["n_tests"] == 3  # the old import_error ran its tests (all failed)
    assert row["price_unknown"] is False
    assert (row["n_import_error"], row["n_module_error"]) == (0, 1)


def test_a_model_whose_server_was_down_is_not_evaluated_and_never_wins():
    down = [_gen_error("down", f"t{i}") for i in range(3)]
    alone = summarize(table_of(down), n_boot=50)
    assert alone.winner is None and alone.decision_kind == "no_decision"
    assert "not evaluated" in alone.decision.lower() and "HTTP 503" in alone.decision
    row = alone.summary.to_pylist()[0]
    assert row["evaluated"] is False and row["pass_at_1"] is None and row["rank"] is None
    assert "generation_error" in row["not_evaluated_reason"]
    rows = down + [_row("up", f"t{i}", 0, "fail") for i in range(3)]
    both = summarize(table_of(rows), n_boot=50)
    assert both.decision_kind == "single" and "Not evaluated: down" in both.decision
    assert both.comparisons.num_rows == 0


def test_suite_errors_are_unscored_like_sandbox_errors():
    rows = [_row("a", "t1", 0, "pass"), _row("a", "t2", 0, "suite_error", overall_score=None)]
    row = summarize(table_of(rows), n_boot=50).summary.to_pylist()[0]
    assert row["pass_at_1"] == 1.0 and row["n_suite_error"] == 1
    assert row["n_tasks_dropped"] == 1 and row["dropped_tasks"] == ["t2"]


def test_assembly_paths_are_counted_per_model():
    rows = [_row("a", f"t{i}", 0, "pass", assembly="prompt+completion") for i in range(3)]
    rows += [_row("a", "t3", 0, "pass", assembly="fence_rescued"), _gen_error("a", "t4")]
    row = summarize(table_of(rows), n_boot=20).summary.to_pylist()[0]
    assert json.loads(row["assembly_counts"]) == {"fence_rescued": 1, "prompt+completion": 3}


def test_empty_table():
    result = summarize(SCHEMA.empty_table(), n_boot=10)
    assert result.summary.num_rows == 0 and result.winner is None
    assert result.decision.startswith("No decision")


_MEMORY_SCRIPT = """
import resource
import sys
sys.path.insert(0, {tests!r})
from synthetic import synthetic_results
from tasks.stats.summary import summarize
table = synthetic_results(10, 10_000, 10, seed=0, sandbox_error_rate=0.01)
assert table.num_rows == 1_000_000
result = summarize(table, n_boot=2000)
assert result.summary.num_rows == 10
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


@pytest.mark.slow
def test_a_million_rows_stay_under_1_5_gb():
    import os
    import subprocess
    import sys

    # synthetic.py lives in tests/, one level up from this file.
    script = _MEMORY_SCRIPT.format(tests=os.path.dirname(os.path.dirname(__file__)))
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    peak_mib = int(out.stdout.split()[-1]) / 1024  # ru_maxrss is KiB on Linux
    assert peak_mib < 1536, f"peak RSS {peak_mib:.0f} MiB"


def test_each_check_aggregate_names_a_result_column_and_a_summary_column():
    """The per-check means are declared by name: each is a column of both records."""
    from tasks.record.results import COLUMN_NAMES
    from tasks.stats.rows import CHECK_COUNTS, MEANS, RATES, RATIOS

    sources = [*RATES.values(), *MEANS.values(), *(c for pair in RATIOS.values() for c in pair)]
    assert set(sources) <= set(COLUMN_NAMES)
    assert {*RATES, *MEANS, *RATIOS, *CHECK_COUNTS.values()} <= set(SUMMARY_SCHEMA.names)
    assert set(CHECK_COUNTS) == {*RATES, *MEANS, *RATIOS}
