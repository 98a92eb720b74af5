"""Statistics: pass@k, bootstrap, Holm, Pareto, run comparison, winner-rule simulations."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from synthetic import synthetic_results

from tasks.stats import (
    compare_runs,
    holm,
    paired_test,
    pareto_front,
    pass_at_k,
    pass_at_k_array,
)
from tasks.stats.bootstrap import bootstrap_means
from tasks.stats.summary import summarize


def _comb_pass_at_k(n: int, c: int, k: int) -> float:
    return 1.0 - math.comb(n - c, k) / math.comb(n, k)


@pytest.mark.parametrize(
    ("n", "c", "k", "expected"),
    [
        (5, 0, 1, 0.0),
        (5, 5, 1, 1.0),
        (5, 2, 1, 0.4),
        (5, 2, 2, 0.7),  # 1 - C(3,2)/C(5,2) = 1 - 3/10
        (10, 3, 5, 1 - 21 / 252),  # 1 - C(7,5)/C(10,5)
        (200, 1, 100, 0.5),
        (10, 8, 5, 1.0),  # n - c < k: every draw of 5 contains a pass
    ],
)
def test_pass_at_k_hand_values(n, c, k, expected):
    assert pass_at_k(n, c, k) == pytest.approx(expected, abs=1e-12)


def test_pass_at_k_matches_binomials_and_is_stable_for_large_n():
    for n, c, k in [(20, 7, 3), (50, 1, 10), (100, 37, 10)]:
        assert pass_at_k(n, c, k) == pytest.approx(_comb_pass_at_k(n, c, k), rel=1e-12)
    # C(5000, 100) overflows a float; the product form does not.
    value = pass_at_k(5000, 3, 100)
    assert 0.0 < value < 1.0
    assert value == pytest.approx(_comb_pass_at_k(5000, 3, 100), rel=1e-9)


@pytest.mark.parametrize(("n", "c", "k"), [(5, 6, 1), (5, -1, 1), (5, 2, 0), (5, 2, 6)])
def test_pass_at_k_rejects_bad_arguments(n, c, k):
    with pytest.raises(ValueError):
        pass_at_k(n, c, k)


def test_pass_at_k_array_matches_scalar_and_is_nan_below_k():
    n = np.array([5, 5, 10, 3, 10])
    c = np.array([0, 2, 3, 1, 10])
    out = pass_at_k_array(n, c, 5)
    assert out[0] == 0.0
    assert out[1] == pytest.approx(1.0)  # n - c = 3 < 5
    assert out[2] == pytest.approx(pass_at_k(10, 3, 5))
    assert np.isnan(out[3])
    assert out[4] == 1.0
    assert np.isnan(pass_at_k_array(np.array([1, 2]), np.array([0, 1]), 5)).all()


def test_holm_known_example_and_nans():
    p = np.array([0.01, 0.04, 0.03, 0.005, np.nan])
    # sorted: 0.005*4=0.02, 0.01*3=0.03, 0.03*2=0.06, 0.04*1=0.04 -> monotone 0.06
    assert holm(p)[:4] == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert np.isnan(holm(p)[4])
    assert holm(np.array([0.9, 0.8])).tolist() == [1.0, 1.0]
    assert holm(np.array([])).size == 0


def test_pareto_front():
    cost = np.array([1.0, 2.0, 3.0, 0.5, np.nan, 2.0])
    quality = np.array([0.5, 0.7, 0.6, 0.2, 0.99, 0.7])
    front = pareto_front(cost, quality)
    # 2 is dominated by 1 (cheaper and better); 4 has unknown cost; 1 and 5 are identical,
    # neither strictly dominates the other, so both stay.
    assert front.tolist() == [True, True, False, True, False, True]


def test_bootstrap_means_is_seeded_and_respects_masks():
    values = np.array([[0.0, 1.0], [1.0, 5.0], [1.0, 9.0], [0.0, 2.0]])
    mask = np.array([[True, True], [True, False], [True, False], [True, True]])
    a = bootstrap_means(values, 500, np.random.default_rng(3), mask)
    b = bootstrap_means(values, 500, np.random.default_rng(3), mask)
    assert np.array_equal(a, b, equal_nan=True)
    assert a[:, 0].mean() == pytest.approx(0.5, abs=0.05)
    # Column 1 only averages its masked tasks (values 1 and 2), or is NaN if none drawn.
    col = a[:, 1][~np.isnan(a[:, 1])]
    assert col.min() >= 1.0 and col.max() <= 2.0
    assert np.isnan(a[:, 1]).any()  # P(neither task drawn) = (1/2)^4
    assert np.isnan(bootstrap_means(np.zeros((0, 2)), 10, np.random.default_rng(0))).all()


def test_paired_test_edge_cases():
    rng = np.random.default_rng(0)
    mean, low, high, p = paired_test(np.zeros(30), 500, rng)
    assert (mean[0], low[0], high[0], p[0]) == (0.0, 0.0, 0.0, 1.0)
    # Three tasks all in one direction: never "significant" (the exact test gives 0.25).
    _, _, _, p = paired_test(np.ones(3), 500, rng)
    assert p[0] == pytest.approx(0.25)
    mean, _, _, p = paired_test(np.zeros((0, 1)), 100, rng)
    assert np.isnan(mean[0]) and np.isnan(p[0])
    # A clear shift over many tasks is significant and the CI excludes 0.
    diffs = np.r_[np.ones(40), np.zeros(55), -np.ones(5)]
    mean, low, high, p = paired_test(diffs, 1000, rng)
    assert mean[0] == pytest.approx(0.35)
    assert 0 < low[0] < 0.35 < high[0]
    assert p[0] < 0.01


@pytest.mark.slow  # 200 summaries: 2-4 s alone, more on a busy machine
def test_ci_coverage_of_pass_at_1():
    """The 95% task-bootstrap CI covers the true mean in ~95% of runs.

    synthetic_results draws task pass rates from U(0.1, 0.85): true pass@1 = 0.475.
    200 seeds: Binomial(200, 0.95) stays within [0.90, 0.99] with probability > 99.5%.
    """
    covered = 0
    for seed in range(200):
        row = summarize(synthetic_results(1, 100, 1, seed), seed=seed, n_boot=1000).summary
        low, high = row["pass_at_1_ci_low"][0].as_py(), row["pass_at_1_ci_high"][0].as_py()
        covered += low <= 0.475 <= high
    assert 0.90 <= covered / 200 <= 0.99


# The winner rule reads only the exact test, never the bootstrap (which gives intervals),
# so the winner simulations keep its replicates few.
_FEW = 50


def _false_winner_rate(n_samples: int, seeds: int) -> float:
    wins = 0
    for seed in range(seeds):
        table = synthetic_results(2, 100, n_samples, seed)
        wins += summarize(table, seed=seed, n_boot=_FEW).winner is not None
    return wins / seeds


# Two equal models: a single winner is a false positive of a two-sided test at 5%.
# Over 300 seeds a calibrated test exceeds 0.08 with probability < 1%
# (Binomial(300, 0.05): mean 15, sd 3.8; 0.08 * 300 = 24 is 2.4 sd above).
_SEEDS = 300
_SLACK = 0.03


@pytest.mark.slow  # 300 summaries each: 3-6 s alone
@pytest.mark.parametrize("n_samples", [1, 5])
def test_equal_models_rarely_get_a_false_winner(n_samples):
    assert _false_winner_rate(n_samples, _SEEDS) <= 0.05 + _SLACK


@pytest.mark.slow  # 60 summaries: 1.5-3 s
def test_three_equal_models_give_a_tie_group():
    ties = 0
    for seed in range(60):
        result = summarize(synthetic_results(3, 100, 1, seed), seed=seed, n_boot=_FEW)
        ties += result.winner is None and len(result.tie_group) >= 2
    assert ties / 60 >= 0.9


@pytest.mark.slow  # 200 summaries: 2-4 s alone
def test_a_model_15_points_better_wins():
    """Power: +0.15 pass@1 over 100 tasks with 5 samples each.

    With 1 sample per task no valid 5% test reaches 90% power here: the per-task
    difference has sd ~0.58, so the z-score is ~0.15 / 0.058 = 2.6 (power ~74%).
    Five samples shrink the per-task noise and power is ~100%.
    """
    wins = 0
    for seed in range(200):
        table = synthetic_results(2, 100, 5, seed, shifts=[0.15, 0.0])
        wins += summarize(table, seed=seed, n_boot=_FEW).winner == "fake:model-0"
    assert wins / 200 >= 0.90


def test_compare_runs_flags_a_real_drop_only():
    prev = synthetic_results(2, 100, 3, seed=1, shifts=[0.1, 0.1], run_id="prev")
    cur = prev.set_column(
        prev.schema.get_field_index("run_id"), "run_id", [["cur"] * prev.num_rows]
    )
    same = compare_runs(prev, cur, seed=0, n_boot=500)
    assert same.num_rows == 2
    assert same["delta"].to_pylist() == [0.0, 0.0]
    assert same["regression"].to_pylist() == [False, False]
    assert same["prev_run_id"][0].as_py() == "prev" and same["cur_run_id"][0].as_py() == "cur"

    worse = synthetic_results(3, 100, 3, seed=1, shifts=[0.1, -0.3, 0.0])  # model-2 is new
    out = compare_runs(prev, worse, seed=0, n_boot=1000)
    assert out["model"].to_pylist() == ["fake:model-0", "fake:model-1", "fake:model-2"]
    assert out["present_in"].to_pylist() == ["both", "both", "current only"]
    rows = {r["model"]: r for r in out.to_pylist()}
    assert rows["fake:model-2"]["delta"] is None and rows["fake:model-2"]["regression"] is False
    assert rows["fake:model-1"]["regression"] is True
    assert rows["fake:model-1"]["delta"] < -0.2
    assert rows["fake:model-1"]["ci_high"] < 0
    assert rows["fake:model-0"]["regression"] is False
    assert rows["fake:model-0"]["n_tasks"] == 100


def test_compare_runs_uses_shared_tasks_only():
    prev = synthetic_results(1, 50, 2, seed=2)
    cur = synthetic_results(1, 80, 2, seed=2)  # same first 50 tasks' ids, more tasks
    out = compare_runs(prev, cur, primary="overall_score", n_boot=200)
    assert out["n_tasks"].to_pylist() == [50]
    assert out["metric"].to_pylist() == ["overall_score"]
    empty = compare_runs(prev, synthetic_results(1, 5, 1, 0).slice(0, 0), n_boot=10)
    assert empty["present_in"].to_pylist() == ["previous only"]


def test_compare_runs_says_when_settings_differ_in_its_first_line(tmp_path):
    from tasks.record.results import write_table
    from tasks.stats.runs import compare_run_dirs

    prev = synthetic_results(2, 30, 1, seed=1, run_id="a")
    cur = synthetic_results(1, 30, 5, seed=1, run_id="b")  # 5 samples, model-1 gone
    for name, table, meta in (
        ("a", prev, {"suite_digest": "d1", "options": {"seed": 0}}),
        ("b", cur, {"suite_digest": "d2", "options": {"seed": 0}}),
    ):
        (tmp_path / name).mkdir()
        write_table(table, str(tmp_path / name / "results.parquet"))
        (tmp_path / name / "meta.json").write_text(json.dumps(meta))
    text = compare_run_dirs(str(tmp_path / "a"), str(tmp_path / "b"))
    first = text.splitlines()[0]
    assert first.startswith("NOT LIKE FOR LIKE") and "pass@1" in first
    assert "samples: 1 -> 5" in first and "suite digest: d1 -> d2" in first
    assert "options" not in first  # equal in both
    assert "Only in the previous run: fake:model-1" in first
    same = compare_run_dirs(str(tmp_path / "a"), str(tmp_path / "a"))
    assert same.splitlines()[0].startswith("Comparing pass@1: same settings")
