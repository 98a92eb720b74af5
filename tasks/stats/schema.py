"""Schemas of the tables the statistics produce. Like ``tasks.results``, each is a contract.

Field order is stable and every column is documented. ``summary.parquet`` has one
row per model, ``comparisons.parquet`` one row per pair of models and metric, and
the run-history table one row per model present in both runs.
"""

from __future__ import annotations

import pyarrow as pa

SUMMARY_SCHEMA_VERSION = "1"

_F = pa.float64()
_I = pa.int64()

# (name, type, description) in file order.
SUMMARY_COLUMNS: list[tuple[str, pa.DataType, str]] = [
    ("model", pa.string(), "Model label, PROVIDER:MODEL."),
    ("rank", pa.int32(), "1 = highest primary metric (ties share a rank); null when unscored."),
    ("primary_metric", pa.string(), "The metric the decision uses: pass@1 or overall_score."),
    ("primary_value", _F, "The model's primary metric (mean over its scored tasks)."),
    ("primary_ci_low", _F, "2.5th percentile of the task bootstrap of the primary metric."),
    ("primary_ci_high", _F, "97.5th percentile of the task bootstrap of the primary metric."),
    ("is_winner", pa.bool_(), "The model beats every other one significantly (see decision)."),
    ("in_tie_group", pa.bool_(), "The model is not significantly worse than the best one."),
    ("tie_group", pa.list_(pa.string()), "Models tied at the top (same list on every row)."),
    ("decision", pa.string(), "The decision in words, with its evidence (same on every row)."),
    ("n_tasks", pa.int32(), "Tasks with at least one scored sample (sandbox_error excluded)."),
    ("n_tasks_dropped", pa.int32(), "Tasks whose samples were all sandbox_error: not scored."),
    ("dropped_tasks", pa.list_(pa.string()), "The ids of those dropped tasks."),
    ("n_samples", _I, "Scored samples (rows other than sandbox_error)."),
    ("min_samples_per_task", pa.int32(), "Fewest scored samples of any scored task."),
    ("pass_at_1", _F, "Unbiased pass@1, per task then mean over tasks."),
    ("pass_at_1_ci_low", _F, "2.5th percentile of the task bootstrap of pass@1."),
    ("pass_at_1_ci_high", _F, "97.5th percentile of the task bootstrap of pass@1."),
    ("pass_at_5", _F, "Unbiased pass@5; null unless every scored task has >= 5 samples."),
    ("pass_at_10", _F, "Unbiased pass@10; null unless every scored task has >= 10 samples."),
    ("overall_score", _F, "Mean overall_score per task, then over tasks (null score = 0)."),
    ("overall_score_ci_low", _F, "2.5th percentile of the task bootstrap of overall_score."),
    ("overall_score_ci_high", _F, "97.5th percentile of the task bootstrap of overall_score."),
    ("syntax_valid_rate", _F, "Share of scored samples whose code parses (where checked)."),
    ("imports_resolved_rate", _F, "Share of scored samples whose imports all exist."),
    ("runs_without_error_rate", _F, "Share of scored samples that import cleanly in the sandbox."),
    ("follows_style_guide_rate", _F, "Share of scored samples with no ruff finding."),
    ("tests_pass_rate", _F, "Sum of tests_passed over sum of tests_total."),
    ("extra_tests_pass_rate", _F, "Sum of extra_tests_passed over sum of extra_tests_total."),
    ("coverage_mean", _F, "Mean statement coverage over samples where it was measured."),
    ("type_hint_ratio_mean", _F, "Mean type_hint_ratio over samples where it was measured."),
    ("docstring_ratio_mean", _F, "Mean docstring_ratio over samples where it was measured."),
    ("ruff_violations_mean", _F, "Mean ruff findings per checked sample."),
    ("execution_time_ms_mean", _F, "Mean CPU time of the test run in milliseconds."),
    ("peak_memory_mb_mean", _F, "Mean peak resident memory of the test run in MiB."),
    ("n_pass", _I, "Rows with status pass."),
    ("n_fail", _I, "Rows with status fail."),
    ("n_error", _I, "Rows with status error."),
    ("n_timeout", _I, "Rows with status timeout."),
    ("n_oom", _I, "Rows with status oom."),
    ("n_syntax_error", _I, "Rows with status syntax_error."),
    ("n_import_error", _I, "Rows with status import_error."),
    ("n_no_code", _I, "Rows with status no_code."),
    ("n_generation_error", _I, "Rows with status generation_error."),
    ("n_sandbox_error", _I, "Rows with status sandbox_error (excluded from every score)."),
    ("n_module_error", _I, "Rows with status module_error."),
    ("n_suite_error", _I, "Rows with status suite_error (excluded from every score)."),
    ("prompt_tokens", _I, "Prompt tokens over all rows (sandbox errors too: they were paid)."),
    ("completion_tokens", _I, "Completion tokens over all rows."),
    ("cost_usd", _F, "Total cost; null when any row's price is unknown."),
    ("cost_usd_known", _F, "Sum of the known costs: a lower bound when price_unknown."),
    ("n_price_unknown", _I, "Rows whose cost is unknown."),
    ("price_unknown", pa.bool_(), "Some price was unknown, so cost_usd is null."),
    ("cost_per_sample_usd", _F, "cost_usd / rows; the cost axis of the Pareto front."),
    ("cost_per_pass_usd", _F, "cost_usd / n_pass; null when either is unknown or zero."),
    ("on_pareto_front", pa.bool_(), "No other model is both cheaper-or-equal and better-or-equal."),
    ("pareto_note", pa.string(), "Why a model is off the front when not by dominance, else ''."),
    ("latency_p50_s", _F, "Median call latency in seconds (rows with a positive latency)."),
    ("latency_p95_s", _F, "95th percentile call latency in seconds."),
    ("tokens_per_s", _F, "Sum of completion tokens over sum of latency, same rows."),
]

COMPARISON_COLUMNS: list[tuple[str, pa.DataType, str]] = [
    ("model_a", pa.string(), "The better-ranked model of the pair."),
    ("model_b", pa.string(), "The other model."),
    ("metric", pa.string(), "pass@1 or overall_score."),
    ("n_tasks", pa.int32(), "Tasks both models have scored: the only tasks compared."),
    ("value_a", _F, "Model a's metric over the shared tasks."),
    ("value_b", _F, "Model b's metric over the shared tasks."),
    ("diff", _F, "value_a - value_b."),
    ("ci_low", _F, "2.5th percentile of the paired bootstrap of diff."),
    ("ci_high", _F, "97.5th percentile of the paired bootstrap of diff."),
    ("p_value", _F, "Two-sided paired-bootstrap p-value for diff = 0; null without shared tasks."),
    ("p_holm", _F, "Holm-corrected p-value over all pairs of this metric."),
    ("verdict", pa.string(), "a_better | b_better | tie (at p_holm < alpha)."),
    ("test", pa.string(), "The test used (paired_bootstrap)."),
]

HISTORY_COLUMNS: list[tuple[str, pa.DataType, str]] = [
    ("model", pa.string(), "Model present in both runs."),
    ("metric", pa.string(), "pass@1 or overall_score."),
    ("prev_run_id", pa.string(), "Run id(s) of the previous results."),
    ("cur_run_id", pa.string(), "Run id(s) of the current results."),
    ("n_tasks", pa.int32(), "Tasks scored in both runs: the only tasks compared."),
    ("prev_value", _F, "Metric of the previous run over the shared tasks."),
    ("cur_value", _F, "Metric of the current run over the shared tasks."),
    ("delta", _F, "cur_value - prev_value."),
    ("ci_low", _F, "2.5th percentile of the paired bootstrap of delta."),
    ("ci_high", _F, "97.5th percentile of the paired bootstrap of delta."),
    ("p_value", _F, "Two-sided paired-bootstrap p-value for delta = 0."),
    ("p_holm", _F, "Holm-corrected over the models compared."),
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
