"""Real replies through extraction, the real sandbox and the metrics, on both backends.

The assertions are about Vivek's bookkeeping (statuses, filled columns, sums), never
about whether a 135M model solves the task.
"""

from __future__ import annotations

import statistics

import pyarrow as pa
import pytest
from synthetic import table_of

from tasks.record.results import COLUMN_NAMES, SCHEMA
from tasks.record.types import STATUSES
from tasks.stats.summary import summarize
from tests.llm.conftest import HUMANEVAL_IDS, RealRun

pytestmark = [pytest.mark.llm, pytest.mark.slow]

# Filled by static analysis of any code that parses.
STATIC = (
    "syntax_valid",
    "imports_resolved",
    "missing_imports",
    "ruff_violations",
    "ruff_codes",
    "follows_style_guide",
    "type_hint_ratio",
    "docstring_ratio",
)
# Filled once the code ran in the sandbox.
RAN = (
    "runs_without_error",
    "tests_passed",
    "tests_total",
    "tests_failed",
    "cpu_limit_s",
    "side_effects",
    "sandbox",
)
MEASURED = (*STATIC, *RAN, "coverage", "execution_time_ms", "peak_memory_mb")
NEVER_SANDBOXED = ("no_code", "syntax_error")
CENSORED = ("timeout", "oom")  # time and memory stopped at the limit: not measured


def sandboxed(row: dict) -> bool:
    return row["status"] not in NEVER_SANDBOXED


def test_status_is_valid_and_agrees_with_the_code(real_run: RealRun) -> None:
    for row in real_run.rows:
        assert row["status"] in STATUSES
        assert row["status"] != "generation_error"  # every cell got a reply
        assert (row["status"] == "no_code") == (row["code"] == ""), row["task_id"]
        assert (row["status"] == "pass") == (row["error"] == ""), (row["status"], row["error"])


def test_a_check_column_is_null_exactly_when_its_check_did_not_run(real_run: RealRun) -> None:
    for row in real_run.rows:
        assert set(row) == set(COLUMN_NAMES)
        assert row["overall_score"] is not None and row["score_breakdown"], row["task_id"]
        filled = [name for name in MEASURED if row[name] is not None]
        if row["status"] == "no_code":
            assert filled == [], (row["task_id"], filled)
        elif row["status"] == "syntax_error":
            assert filled == ["syntax_valid"] and row["syntax_valid"] is False, filled
        else:
            assert [name for name in (*STATIC, *RAN) if row[name] is None] == [], row["task_id"]
            censored = row["status"] in CENSORED
            assert (row["execution_time_ms"] is None) == censored, row["status"]
            assert (row["peak_memory_mb"] is None) == censored, row["status"]
        # Differential tests are counted as a pair or not at all.
        assert (row["extra_tests_passed"] is None) == (row["extra_tests_total"] is None)


def test_test_counts_add_up(real_run: RealRun) -> None:
    for row in real_run.rows:
        assert 0.0 <= row["overall_score"] <= 1.0
        if not sandboxed(row):
            assert row["tests_total"] is None and row["overall_score"] == 0.0
            continue
        assert row["tests_total"] > 0
        assert 0 <= row["tests_passed"] <= row["tests_total"]
        assert row["tests_failed"] == row["tests_total"] - row["tests_passed"]
        if row["status"] == "pass":
            assert row["tests_passed"] == row["tests_total"] and row["runs_without_error"]


def test_checked_rows_ran_in_the_sandbox_or_say_why_not(real_run: RealRun) -> None:
    for row in real_run.rows:
        if sandboxed(row):
            assert row["syntax_valid"] and row["sandbox"] not in ("", "{}")
        else:
            assert row["execution_time_ms"] is None and row["sandbox"] is None
            assert row["error"]


def test_rows_fit_the_parquet_schema(real_run: RealRun) -> None:
    table = table_of(real_run.rows)
    assert table.schema == SCHEMA and table.num_rows == len(real_run.rows)
    assert table.column("completion").to_pylist() == [o.generation.text for o in real_run.outcomes]


@pytest.mark.parametrize("task_id", HUMANEVAL_IDS)
def test_humaneval_rows_define_the_entry_point(real_run: RealRun, task_id: str) -> None:
    task = real_run.tasks[task_id]
    [row] = [r for r in real_run.rows if r["task_id"] == task_id]
    assert row["status"] in STATUSES
    if row["status"] != "no_code":
        # Chat replies that omit the signature get the prompt prepended.
        assert f"def {task.entry_point}(" in row["code"]
    # The tests' count is known only once they ran.
    assert (row["tests_total"] is not None and row["tests_total"] > 0) == sandboxed(row)


def _summary(real_run: RealRun) -> tuple[pa.Table, dict]:
    table = table_of(real_run.rows)
    result = summarize(table, n_boot=200)
    [summary] = result.summary.to_pylist()
    return table, summary


def test_summary_tokens_are_the_sum_of_the_rows(real_run: RealRun) -> None:
    _, summary = _summary(real_run)
    assert summary["prompt_tokens"] == sum(r["prompt_tokens"] for r in real_run.rows) > 0
    assert summary["completion_tokens"] == sum(r["completion_tokens"] for r in real_run.rows) > 0
    assert summary["cost_usd"] == 0.0 and not summary["price_unknown"]


def test_summary_counts_the_samples_and_tasks(real_run: RealRun) -> None:
    _, summary = _summary(real_run)
    scored = [r for r in real_run.rows if r["status"] != "sandbox_error"]
    assert summary["model"] == real_run.backend.spec
    assert summary["n_samples"] == len(scored) == len(real_run.tasks)
    assert summary["n_tasks"] == len({r["task_id"] for r in scored})
    assert summary["min_samples_per_task"] == 1


def test_pass_at_1_is_the_share_of_passing_rows(real_run: RealRun) -> None:
    _, summary = _summary(real_run)
    passing = sum(r["status"] == "pass" for r in real_run.rows)
    assert summary["pass_at_1"] == pytest.approx(passing / len(real_run.rows))
    assert summary["pass_at_5"] is None  # one sample per task cannot give pass@5


def test_latency_p50_lies_within_the_rows(real_run: RealRun) -> None:
    _, summary = _summary(real_run)
    latencies = [r["latency_s"] for r in real_run.rows]
    assert min(latencies) <= summary["latency_p50_s"] <= max(latencies)
    assert summary["latency_p50_s"] == pytest.approx(statistics.median(latencies))
    assert summary["tokens_per_s"] > 0


def test_a_single_model_is_evaluated_with_nothing_to_compare(real_run: RealRun) -> None:
    table, summary = _summary(real_run)
    result = summarize(table, n_boot=200)
    assert result.winner is None and result.decision_kind == "single"
    assert result.tie_group == (real_run.backend.spec,) == (summary["model"],)
    assert not summary["is_winner"] and summary["rank"] == 1
