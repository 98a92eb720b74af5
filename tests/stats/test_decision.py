"""The winner rule's wording and reach: exact p-values, adjusted intervals, what can be detected."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from synthetic import synthetic_results, table_of

from tasks.stats.summary import summarize


def _binary(outcomes: dict[str, list[bool]]) -> pa.Table:
    rows = [
        {"model": m, "task_id": f"t{i:03d}", "sample": 0, "status": "pass" if ok else "fail",
         "overall_score": float(ok), "checker_version": "4"}
        for m, passes in outcomes.items()
        for i, ok in enumerate(passes)
    ]  # fmt: skip
    return table_of(rows)


def test_twenty_models_with_one_far_ahead_name_it_the_winner():
    """190 Holm-corrected pairs: a bootstrap p floored at 1/2001 could never get there."""
    rng = np.random.default_rng(0)
    tasks = 164
    outcomes = {"best": list(rng.random(tasks) < 0.9)}
    for m in range(19):
        outcomes[f"other-{m:02d}"] = list(rng.random(tasks) < 0.35)
    result = summarize(_binary(outcomes), n_boot=200)
    assert result.winner == "best" and result.decision_kind == "winner"
    comps = result.comparisons.filter(pc.equal(result.comparisons["metric"], "pass@1"))
    assert comps.num_rows == 190
    assert max(comps.filter(pc.equal(comps["model_a"], "best"))["p_holm"].to_pylist()) < 1e-6
    assert "190 comparisons" in result.decision


def test_a_single_model_is_evaluated_with_nothing_to_compare_not_a_winner():
    result = summarize(synthetic_results(1, 10, 1, seed=0), n_boot=100)
    assert result.winner is None and result.decision_kind == "single"
    assert result.decision.startswith("Evaluated (nothing to compare): fake:model-0")
    assert "win" not in result.decision.lower()
    row = result.summary.to_pylist()[0]
    assert row["is_winner"] is False and row["rank"] == 1
    assert result.comparisons.num_rows == 0


def test_every_comparison_says_what_it_could_detect():
    result = summarize(synthetic_results(3, 40, 1, seed=1), n_boot=200)
    for c in result.comparisons.to_pylist():
        assert c["n_comparisons"] == 3
        assert 0 < c["mdd"] <= 1 and c["se"] > 0
        assert -1 <= c["ci_low_adj"] <= c["ci_low"] <= c["diff"] <= c["ci_high"] <= 1
        assert c["ci_high"] <= c["ci_high_adj"] <= 1
        assert c["test"] == "sign_flip_exact"
        if c["verdict"] == "tie":  # never an interval that excludes 0 beside a tie
            assert c["ci_low_adj"] <= 0 <= c["ci_high_adj"]
    assert result.decision_kind == "tie"
    assert "could be detected" in result.decision
    assert "intervals adjusted for 3 comparisons" in result.decision


def test_a_tie_on_too_few_tasks_says_no_difference_could_be_detected():
    result = summarize(_binary({"good": [True] * 3, "bad": [False] * 3}), n_boot=200)
    assert result.decision_kind == "tie"
    assert "3 shared tasks: too few for any difference to be detected" in result.decision
    comps = result.comparisons.to_pylist()
    assert all(c["mdd"] is None and c["min_tasks_for_significance"] == 6 for c in comps)
    assert summarize(_binary({"good": [True] * 6, "bad": [False] * 6}), n_boot=200).winner == "good"


def test_the_quoted_interval_reaches_0_when_the_exact_test_cannot_reject():
    """6 of 12 tasks fell, none rose: the normal interval excludes 0, the exact test
    (p = 2^-5, times 2 models) does not reject; the sentence must not contradict itself."""
    from tasks.stats.history import change_sentence, compare_runs

    before = _binary({"m": [True] * 12, "n": [True] * 6 + [False] * 6})
    after = _binary({"m": [True] * 6 + [False] * 6, "n": [True] * 6 + [False] * 6})
    row = compare_runs(before, after, n_boot=200).to_pylist()[0]
    assert row["model"] == "m" and row["regression"] is False
    assert row["p_holm"] == pytest.approx(2 * 2.0**-5)
    assert row["ci_high"] < 0  # the bootstrap interval alone would contradict the verdict
    assert row["ci_low_adj"] < 0 <= row["ci_high_adj"]
    sentence = change_sentence(row)
    assert "95% CI adjusted for 2 comparisons [" in sentence and "+0.000]" in sentence
    assert "no significant change" in sentence


def test_with_several_samples_the_standard_error_is_clustered_by_task():
    """Four samples of a task are one observation of it, not four: the SE and the MDD come
    from the per-task means, so they are not the naive per-sample figures."""
    rng = np.random.default_rng(3)
    tasks, samples = 30, 4
    rows = []
    for model in ("a", "b"):
        # Each model finds each task easy or hard on its own: samples of a task correlate.
        chance = rng.choice([0.05, 0.95], tasks)
        for t in range(tasks):
            for s in range(samples):
                ok = bool(rng.random() < chance[t])
                rows.append(
                    {"model": model, "task_id": f"t{t:02d}", "sample": s,
                     "status": "pass" if ok else "fail", "overall_score": float(ok)}
                )  # fmt: skip
    table = table_of(rows)
    comps = summarize(table, n_boot=100).comparisons
    row = comps.filter(pc.equal(comps["metric"], "pass@1")).to_pylist()[0]
    passed = np.array([r["status"] == "pass" for r in rows], dtype=float).reshape(2, tasks, samples)
    sign = 1.0 if row["model_a"] == "a" else -1.0
    per_task = sign * (passed[0].mean(axis=1) - passed[1].mean(axis=1))
    assert row["se"] == pytest.approx(per_task.std(ddof=1) / np.sqrt(tasks))
    per_sample = sign * (passed[0] - passed[1]).ravel()
    naive = per_sample.std(ddof=1) / np.sqrt(per_sample.size)
    assert row["se"] > 1.5 * naive  # the naive SE would claim 1.5x more certainty
    assert row["mdd"] == pytest.approx((1.959964 + 0.841621) * row["se"], rel=1e-5)
