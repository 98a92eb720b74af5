"""pass@1+ and pass@k+ (EvalPlus's headline figures), deciding on them, and flaky verdicts."""

from __future__ import annotations

from typing import Any

import pytest
from synthetic import synthetic_results, table_of

from tasks.stats.passk import pass_at_k
from tasks.stats.summary import summarize


def _row(model: str, task: str, sample: int, status: str, plus: bool | None, **kw: Any) -> dict:
    return {
        "model": model,
        "task_id": task,
        "sample": sample,
        "status": status,
        "plus_passed": plus,
        "overall_score": 1.0 if status == "pass" else 0.0,
        "checker_version": "4",
        **kw,
    }


def _by_model(result) -> dict[str, dict]:
    return {r["model"]: r for r in result.summary.to_pylist()}


def test_pass_at_1_plus_counts_only_samples_that_pass_every_extra_test():
    rows = [
        # t1, t2: tasks with extra tests; t3 has none (plus_passed null for everyone).
        _row("a", "t1", 0, "pass", True),
        _row("a", "t1", 1, "pass", False),  # memorised the visible inputs
        _row("a", "t2", 0, "pass", True),
        _row("a", "t2", 1, "no_code", None),  # never ran: counts as not passing
        _row("a", "t3", 0, "pass", None),
        _row("a", "t3", 1, "pass", None),
    ]
    row = _by_model(summarize(table_of(rows), n_boot=50))["a"]
    assert row["pass_at_1"] == pytest.approx((1.0 + 0.5 + 1.0) / 3)
    assert row["pass_at_1_plus"] == pytest.approx((0.5 + 0.5) / 2)
    assert row["n_tasks_plus"] == 2 and row["n_tasks_no_extra"] == 1
    assert 0.0 <= row["pass_at_1_plus_ci_low"] <= 0.5 <= row["pass_at_1_plus_ci_high"] <= 1.0


def test_pass_at_k_plus_uses_the_unbiased_estimator_on_plus_passes():
    rows = [_row("a", "t1", s, "pass", s < 2) for s in range(5)]  # 5 pass, 2 plus-pass
    rows += [_row("a", "t2", s, "fail", False) for s in range(5)]
    row = _by_model(summarize(table_of(rows), n_boot=50))["a"]
    assert row["pass_at_5"] == pytest.approx(0.5)
    assert row["pass_at_5_plus"] == pytest.approx((pass_at_k(5, 2, 5) + 0.0) / 2)
    assert row["pass_at_1_plus"] == pytest.approx((2 / 5) / 2)
    assert row["pass_at_10_plus"] is None  # fewer than 10 samples


def test_a_run_without_extra_tests_has_no_pass_at_1_plus():
    rows = [_row("a", f"t{i}", 0, "pass", None) for i in range(3)]
    row = _by_model(summarize(table_of(rows), n_boot=50))["a"]
    assert row["pass_at_1_plus"] is None and row["pass_at_1_plus_ci_low"] is None
    assert row["n_tasks_plus"] == 0 and row["n_tasks_no_extra"] == 3
    result = summarize(table_of(rows), primary="pass@1+", n_boot=50)
    assert result.decision_kind == "no_decision" and result.winner is None
    assert result.decision.startswith("No decision: no model has a value of pass@1+")


def test_pass_at_1_plus_as_the_primary_metric_decides_on_it():
    # "visible" passes every visible test but half its answers fail the extra tests;
    # "careful" passes fewer visible tests, and every one it passes is right.
    rows = []
    for i in range(60):
        rows.append(_row("visible", f"t{i}", 0, "pass", i % 2 == 0))
        rows.append(_row("careful", f"t{i}", 0, "pass" if i < 50 else "fail", i < 50))
    table = table_of(rows)
    assert summarize(table, n_boot=200).winner == "visible"
    plus = summarize(table, primary="pass@1+", n_boot=200)
    assert plus.winner == "careful" and plus.primary == "pass@1+"
    first = plus.summary.to_pylist()[0]
    assert first["primary_metric"] == "pass@1+"
    assert first["primary_value"] == first["pass_at_1_plus"] == pytest.approx(50 / 60)
    comps = plus.comparisons.to_pylist()
    assert {c["metric"] for c in comps} == {"pass@1", "pass@1+", "overall_score"}
    assert "pass@1+" in plus.decision


def test_flaky_verdicts_are_counted_per_model():
    rows = [
        _row("a", "t1", 0, "pass", None, retried=True, first_status="timeout"),  # flaky
        _row("a", "t2", 0, "timeout", None, retried=True, first_status="timeout"),  # real
        _row("a", "t3", 0, "fail", None, retried=True, first_status="sandbox_error"),  # flaky
        _row("a", "t4", 0, "pass", None),
        _row("b", "t1", 0, "pass", None),
    ]
    by = _by_model(summarize(table_of(rows), n_boot=50))
    assert (by["a"]["n_retried"], by["a"]["n_flaky"]) == (3, 2)
    assert (by["b"]["n_retried"], by["b"]["n_flaky"]) == (0, 0)


def test_pass_at_1_plus_is_never_above_pass_at_1_on_synthetic_runs():
    result = summarize(synthetic_results(3, 50, 3, seed=2, plus_fail_rate=0.2), n_boot=100)
    for row in result.summary.to_pylist():
        assert row["pass_at_1_plus"] <= row["pass_at_1"]
        assert row["n_tasks_plus"] == 50
