"""Schemas of the tables the statistics produce. Like ``tasks.record.results``, each is a contract.

Field order is stable and every column is documented. ``summary.parquet`` has one
row per model, ``comparisons.parquet`` one row per pair of models and metric, and
the run-history table one row per model present in both runs.
"""

from __future__ import annotations

import pyarrow as pa

from tasks.record.types import STATUS_MEANINGS, STATUSES

SUMMARY_SCHEMA_VERSION = "3"

_F = pa.float64()
_I = pa.int64()

# (name, type, description) in file order.
SUMMARY_COLUMNS: list[tuple[str, pa.DataType, str]] = (
    [
        ("model", pa.string(), "Model label, PROVIDER:MODEL."),
        ("rank", pa.int32(), "1 = highest primary metric (ties share a rank); null when unscored."),
        (
            "primary_metric",
            pa.string(),
            "The metric the decision uses: pass@1, pass@1+ or overall_score.",
        ),
        ("primary_value", _F, "The model's primary metric (mean over its scored tasks)."),
        ("primary_ci_low", _F, "Lower end of the primary metric's 95% interval (see pass_at_1)."),
        ("primary_ci_high", _F, "Upper end of the primary metric's 95% interval."),
        ("is_winner", pa.bool_(), "The model beats every other one significantly (see decision)."),
        (
            "decision_kind",
            pa.string(),
            "winner | tie | single (one model evaluated: nothing to compare) | no_decision "
            "(same on every row; the CLI may base its exit code on it).",
        ),
        (
            "evaluated",
            pa.bool_(),
            "At least one sample got a reply and was checked; false: listed as not evaluated.",
        ),
        ("not_evaluated_reason", pa.string(), "Why the model was not evaluated, else ''."),
        ("in_tie_group", pa.bool_(), "The model is not significantly worse than the best one."),
        ("tie_group", pa.list_(pa.string()), "Models tied at the top (same list on every row)."),
        ("decision", pa.string(), "The decision in words, with its evidence (same on every row)."),
        ("n_tasks", pa.int32(), "Tasks with at least one scored sample (unscored excluded)."),
        (
            "n_tasks_dropped",
            pa.int32(),
            "Tasks whose samples were all unscored (sandbox_error, suite_error): not scored.",
        ),
        ("dropped_tasks", pa.list_(pa.string()), "The ids of those dropped tasks."),
        ("n_samples", _I, "Scored samples (rows other than sandbox_error and suite_error)."),
        ("min_samples_per_task", pa.int32(), "Fewest scored samples of any scored task."),
        ("pass_at_1", _F, "Unbiased pass@1, per task then mean over tasks."),
        (
            "pass_at_1_ci_low",
            _F,
            "95% interval of pass@1, inside [0, 1]: Wilson score interval when every task has "
            "one sample, else the 2.5th percentile of the task bootstrap.",
        ),
        ("pass_at_1_ci_high", _F, "Upper end of that interval (Wilson, or 97.5th percentile)."),
        ("pass_at_5", _F, "Unbiased pass@5; null unless every scored task has >= 5 samples."),
        ("pass_at_10", _F, "Unbiased pass@10; null unless every scored task has >= 10 samples."),
        (
            "pass_at_1_plus",
            _F,
            "EvalPlus's pass@1+: unbiased pass@1 counting only samples that pass the visible "
            "tests and every extra test (plus_passed), over the tasks with extra tests; null "
            "when no task has any.",
        ),
        ("pass_at_1_plus_ci_low", _F, "95% interval of pass@1+, as for pass@1."),
        ("pass_at_1_plus_ci_high", _F, "Upper end of that interval."),
        ("pass_at_5_plus", _F, "Unbiased pass@5+; null unless every such task has >= 5 samples."),
        ("pass_at_10_plus", _F, "Unbiased pass@10+; null unless every such task has >= 10."),
        ("n_tasks_plus", pa.int32(), "Scored tasks with extra tests: the tasks pass@k+ is over."),
        ("n_tasks_no_extra", pa.int32(), "Scored tasks without extra tests (not in pass@k+)."),
        ("overall_score", _F, "Mean overall_score per task, then over tasks (null score = 0)."),
        ("overall_score_ci_low", _F, "2.5th percentile of the task bootstrap of overall_score."),
        ("overall_score_ci_high", _F, "97.5th percentile of the task bootstrap of overall_score."),
        ("syntax_valid_rate", _F, "Share of samples with code whose code parses."),
        ("n_syntax_valid", _I, "Samples syntax_valid_rate is over (scored, with code)."),
        ("imports_resolved_rate", _F, "Share of parsable samples whose imports all exist."),
        ("n_imports_resolved", _I, "Samples imports_resolved_rate is over."),
        (
            "runs_without_error_rate",
            _F,
            "Share of samples whose own code ran through the tests without raising.",
        ),
        ("n_runs_without_error", _I, "Samples runs_without_error_rate is over (tests ran)."),
        ("follows_style_guide_rate", _F, "Share of parsable samples with no ruff finding."),
        ("n_follows_style_guide", _I, "Samples follows_style_guide_rate is over."),
        ("tests_pass_rate", _F, "Sum of tests_passed over sum of tests_total, where tests ran."),
        ("n_tests", _I, "Samples whose tests ran (tests_pass_rate is over them)."),
        ("extra_tests_pass_rate", _F, "Sum of extra_tests_passed over sum of extra_tests_total."),
        ("n_extra_tests", _I, "Samples that ran differential checks."),
        ("coverage_mean", _F, "Mean statement coverage over samples where it was measured."),
        ("n_coverage", _I, "Samples coverage_mean is over."),
        ("type_hint_ratio_mean", _F, "Mean type_hint_ratio over parsable samples."),
        ("n_type_hint_ratio", _I, "Samples type_hint_ratio_mean is over."),
        ("docstring_ratio_mean", _F, "Mean docstring_ratio over parsable samples."),
        ("n_docstring_ratio", _I, "Samples docstring_ratio_mean is over."),
        ("ruff_violations_mean", _F, "Mean ruff findings per parsable sample."),
        ("n_ruff_violations", _I, "Samples ruff_violations_mean is over."),
        (
            "execution_time_ms_mean",
            _F,
            "Mean of the solution's own CPU time under test (ms), over runs that ended "
            "within the limits.",
        ),
        ("n_execution_time_ms", _I, "Samples execution_time_ms_mean is over."),
        (
            "peak_memory_mb_mean",
            _F,
            "Mean increase of peak memory over the worker's baseline (MiB), same samples.",
        ),
        ("n_peak_memory_mb", _I, "Samples peak_memory_mb_mean is over."),
    ]
    + [(f"n_{s}", _I, f"Rows with status {s}: {STATUS_MEANINGS[s]}.") for s in STATUSES]
    + [
        (
            "n_retried",
            _I,
            "Rows whose first verdict (timeout, oom, sandbox_error) was re-run once (retried).",
        ),
        (
            "n_flaky",
            _I,
            "Re-run rows whose verdict changed on the re-run: flaky verdicts, not the model's.",
        ),
    ]
    + [
        (
            "assembly_counts",
            pa.string(),
            'JSON {assembly path: rows}, e.g. {"prompt+completion": 160, "fence_rescued": 4}: '
            "how each program was built from the reply (see results.assembly).",
        ),
        ("prompt_tokens", _I, "Prompt tokens over all rows (sandbox errors too: they were paid)."),
        ("completion_tokens", _I, "Completion tokens over all rows."),
        (
            "cost_usd",
            _F,
            "Total cost; null when any reply's price is unknown (failed generations cost nothing).",
        ),
        ("cost_usd_known", _F, "Sum of the known costs: a lower bound when price_unknown."),
        ("n_price_unknown", _I, "Rows whose cost is unknown."),
        ("price_unknown", pa.bool_(), "Some price was unknown, so cost_usd is null."),
        ("cost_per_sample_usd", _F, "cost_usd / rows; the cost axis of the Pareto front."),
        ("cost_per_pass_usd", _F, "cost_usd / n_pass; null when either is unknown or zero."),
        (
            "on_pareto_front",
            pa.bool_(),
            "No other model is both cheaper-or-equal and better-or-equal.",
        ),
        (
            "pareto_note",
            pa.string(),
            "Why a model is off the front when not by dominance, else ''.",
        ),
        ("latency_p50_s", _F, "Median call latency in seconds (rows with a positive latency)."),
        ("latency_p95_s", _F, "95th percentile call latency in seconds."),
        ("tokens_per_s", _F, "Sum of completion tokens over sum of latency, same rows."),
    ]
)

_METRIC = "pass@1, pass@1+ or overall_score."
# Columns of one paired comparison, shared by the model pairs and the run history.
_PAIR_COLUMNS: list[tuple[str, pa.DataType, str]] = [
    ("ci_low", _F, "2.5th percentile of the paired task bootstrap of the difference (in [-1, 1])."),
    ("ci_high", _F, "97.5th percentile of the paired task bootstrap of the difference."),
    (
        "se",
        _F,
        "Task-clustered standard error of the difference (SE of the mean per-task "
        "difference; samples of one task count once); null with fewer than 2 tasks.",
    ),
    (
        "mdd",
        _F,
        "Minimum detectable difference: the smallest true difference this comparison "
        "would call significant with 80% power at alpha / n_comparisons, (z + z) x se, "
        "never below what the exact test can reach; null when there are fewer tasks than "
        "min_tasks_for_significance (no difference could be detected).",
    ),
    (
        "ci_low_adj",
        _F,
        "The interval quoted beside the decision: simultaneous over the n_comparisons of "
        "this family (Bonferroni, each at 1 - 0.05 / n_comparisons; normal approximation "
        "with se, clipped to [-1, 1]), extended to reach 0 when the verdict is not "
        "significant (the exact test decides).",
    ),
    ("ci_high_adj", _F, "Upper end of that interval."),
    ("n_comparisons", pa.int32(), "Comparisons in this Holm family."),
    (
        "min_tasks_for_significance",
        pa.int32(),
        "Fewest shared tasks with which a comparison of this family could reach p_holm < "
        "alpha at all (the exact test's floor 2^(1-k) times n_comparisons).",
    ),
    (
        "p_value",
        _F,
        "Two-sided p-value of the exact paired sign-flip test over the shared tasks "
        "(never floored by a resample count); null without shared tasks.",
    ),
    ("p_holm", _F, "Holm-corrected p-value over the family."),
]

COMPARISON_COLUMNS: list[tuple[str, pa.DataType, str]] = [
    ("model_a", pa.string(), "The better-ranked model of the pair."),
    ("model_b", pa.string(), "The other model."),
    ("metric", pa.string(), _METRIC),
    (
        "n_tasks",
        pa.int32(),
        "Tasks both models have a value on (for pass@1+, tasks with extra tests): the only "
        "tasks compared.",
    ),
    ("value_a", _F, "Model a's metric over the shared tasks."),
    ("value_b", _F, "Model b's metric over the shared tasks."),
    ("diff", _F, "value_a - value_b."),
    *_PAIR_COLUMNS,
    ("verdict", pa.string(), "a_better | b_better | tie (at p_holm < alpha)."),
    ("test", pa.string(), "The test used (sign_flip_exact)."),
]

HISTORY_COLUMNS: list[tuple[str, pa.DataType, str]] = [
    ("model", pa.string(), "A model of either run."),
    (
        "present_in",
        pa.string(),
        "both | previous only | current only; only 'both' rows carry values.",
    ),
    (
        "settings_differ",
        pa.string(),
        "The settings the runs differ in ('samples: 1 -> 5; seed: 0 -> 1'); '' when the "
        "runs compare like with like (same on every row).",
    ),
    ("metric", pa.string(), _METRIC),
    ("suite", pa.string(), "Suite of the current run (suite names joined if several)."),
    ("prev_run_id", pa.string(), "Run id(s) of the previous results."),
    ("cur_run_id", pa.string(), "Run id(s) of the current results."),
    ("n_tasks", pa.int32(), "Tasks with a value in both runs: the only tasks compared."),
    ("prev_value", _F, "Metric of the previous run over the shared tasks."),
    ("cur_value", _F, "Metric of the current run over the shared tasks."),
    ("delta", _F, "cur_value - prev_value."),
    *_PAIR_COLUMNS,
    ("regression", pa.bool_(), "Significant drop: delta < 0 and p_holm < alpha."),
]


def _schema(columns: list[tuple[str, pa.DataType, str]]) -> pa.Schema:
    return pa.schema(
        [pa.field(name, typ, metadata={"description": desc}) for name, typ, desc in columns],
        metadata={"vivek_summary_schema_version": SUMMARY_SCHEMA_VERSION},
    )


SUMMARY_SCHEMA = _schema(SUMMARY_COLUMNS)
COMPARISON_SCHEMA = _schema(COMPARISON_COLUMNS)
HISTORY_SCHEMA = _schema(HISTORY_COLUMNS)
