"""Schemas of the tables the statistics produce. Like ``tasks.record.results``, each is a contract.

Field order is stable and every column is documented. The summary's columns are the
fields of the typed :class:`SummaryRow`, which the report, the events and the artifacts
read. ``summary.parquet`` has one
row per model, ``comparisons.parquet`` one row per pair of models and metric, and
the run-history table one row per model present in both runs.
"""

from dataclasses import dataclass, fields
from typing import Annotated, Self

import pyarrow as pa

from tasks.metrics import Metric
from tasks.record.columns import Col, arrow_schema, from_table, to_table
from tasks.record.types import STATUS_MEANINGS, STATUSES

SUMMARY_SCHEMA_VERSION = "3"

_F = pa.float64()
_I = pa.int64()


@dataclass(frozen=True)
class SummaryRow:
    """One row of ``summary.parquet``: one model's scores, checks, costs and the decision.

    Each field's ``Col`` says what the column holds; ``SUMMARY_SCHEMA`` is made from it.
    """

    model: Annotated[str, Col("Model label, PROVIDER:MODEL.")]
    rank: Annotated[
        int | None,
        Col("1 = highest primary metric (ties share a rank); null when unscored.", pa.int32()),
    ]
    primary_metric: Annotated[
        Metric, Col("The metric the decision uses: pass@1, pass@1+ or overall_score.")
    ]
    primary_value: Annotated[
        float | None, Col("The model's primary metric (mean over its scored tasks).")
    ]
    primary_ci_low: Annotated[
        float | None, Col("Lower end of the primary metric's 95% interval (see pass_at_1).")
    ]
    primary_ci_high: Annotated[float | None, Col("Upper end of the primary metric's 95% interval.")]
    is_winner: Annotated[bool, Col("The model beats every other one significantly (see decision).")]
    decision_kind: Annotated[
        str,
        Col(
            "winner | tie | single (one model evaluated: nothing to compare) | no_decision "
            "(same on every row; the CLI may base its exit code on it)."
        ),
    ]
    evaluated: Annotated[
        bool,
        Col("At least one sample got a reply and was checked; false: listed as not evaluated."),
    ]
    not_evaluated_reason: Annotated[str, Col("Why the model was not evaluated, else ''.")]
    in_tie_group: Annotated[bool, Col("The model is not significantly worse than the best one.")]
    tie_group: Annotated[tuple[str, ...], Col("Models tied at the top (same list on every row).")]
    decision: Annotated[str, Col("The decision in words, with its evidence (same on every row).")]
    n_tasks: Annotated[
        int, Col("Tasks with at least one scored sample (unscored excluded).", pa.int32())
    ]
    n_tasks_dropped: Annotated[
        int,
        Col(
            "Tasks whose samples were all unscored (sandbox_error, suite_error): not scored.",
            pa.int32(),
        ),
    ]
    dropped_tasks: Annotated[tuple[str, ...], Col("The ids of those dropped tasks.")]
    n_samples: Annotated[
        int, Col("Scored samples (rows other than sandbox_error and suite_error).")
    ]
    min_samples_per_task: Annotated[
        int | None, Col("Fewest scored samples of any scored task.", pa.int32())
    ]
    pass_at_1: Annotated[float | None, Col("Unbiased pass@1, per task then mean over tasks.")]
    pass_at_1_ci_low: Annotated[
        float | None,
        Col(
            "95% interval of pass@1, inside [0, 1]: Wilson score interval when every task has "
            "one sample, else the 2.5th percentile of the task bootstrap."
        ),
    ]
    pass_at_1_ci_high: Annotated[
        float | None, Col("Upper end of that interval (Wilson, or 97.5th percentile).")
    ]
    pass_at_5: Annotated[
        float | None, Col("Unbiased pass@5; null unless every scored task has >= 5 samples.")
    ]
    pass_at_10: Annotated[
        float | None, Col("Unbiased pass@10; null unless every scored task has >= 10 samples.")
    ]
    pass_at_1_plus: Annotated[
        float | None,
        Col(
            "EvalPlus's pass@1+: unbiased pass@1 counting only samples that pass the visible "
            "tests and every extra test (plus_passed), over the tasks with extra tests; null "
            "when no task has any."
        ),
    ]
    pass_at_1_plus_ci_low: Annotated[float | None, Col("95% interval of pass@1+, as for pass@1.")]
    pass_at_1_plus_ci_high: Annotated[float | None, Col("Upper end of that interval.")]
    pass_at_5_plus: Annotated[
        float | None, Col("Unbiased pass@5+; null unless every such task has >= 5 samples.")
    ]
    pass_at_10_plus: Annotated[
        float | None, Col("Unbiased pass@10+; null unless every such task has >= 10.")
    ]
    n_tasks_plus: Annotated[
        int, Col("Scored tasks with extra tests: the tasks pass@k+ is over.", pa.int32())
    ]
    n_tasks_no_extra: Annotated[
        int, Col("Scored tasks without extra tests (not in pass@k+).", pa.int32())
    ]
    overall_score: Annotated[
        float | None, Col("Mean overall_score per task, then over tasks (null score = 0).")
    ]
    overall_score_ci_low: Annotated[
        float | None, Col("2.5th percentile of the task bootstrap of overall_score.")
    ]
    overall_score_ci_high: Annotated[
        float | None, Col("97.5th percentile of the task bootstrap of overall_score.")
    ]
    syntax_valid_rate: Annotated[float | None, Col("Share of samples with code whose code parses.")]
    n_syntax_valid: Annotated[int, Col("Samples syntax_valid_rate is over (scored, with code).")]
    imports_resolved_rate: Annotated[
        float | None, Col("Share of parsable samples whose imports all exist.")
    ]
    n_imports_resolved: Annotated[int, Col("Samples imports_resolved_rate is over.")]
    runs_without_error_rate: Annotated[
        float | None, Col("Share of samples whose own code ran through the tests without raising.")
    ]
    n_runs_without_error: Annotated[
        int, Col("Samples runs_without_error_rate is over (tests ran).")
    ]
    follows_style_guide_rate: Annotated[
        float | None, Col("Share of parsable samples with no ruff finding.")
    ]
    n_follows_style_guide: Annotated[int, Col("Samples follows_style_guide_rate is over.")]
    tests_pass_rate: Annotated[
        float | None, Col("Sum of tests_passed over sum of tests_total, where tests ran.")
    ]
    n_tests: Annotated[int, Col("Samples whose tests ran (tests_pass_rate is over them).")]
    extra_tests_pass_rate: Annotated[
        float | None, Col("Sum of extra_tests_passed over sum of extra_tests_total.")
    ]
    n_extra_tests: Annotated[int, Col("Samples that ran differential checks.")]
    coverage_mean: Annotated[
        float | None, Col("Mean statement coverage over samples where it was measured.")
    ]
    n_coverage: Annotated[int, Col("Samples coverage_mean is over.")]
    type_hint_ratio_mean: Annotated[
        float | None, Col("Mean type_hint_ratio over parsable samples.")
    ]
    n_type_hint_ratio: Annotated[int, Col("Samples type_hint_ratio_mean is over.")]
    docstring_ratio_mean: Annotated[
        float | None, Col("Mean docstring_ratio over parsable samples.")
    ]
    n_docstring_ratio: Annotated[int, Col("Samples docstring_ratio_mean is over.")]
    ruff_violations_mean: Annotated[float | None, Col("Mean ruff findings per parsable sample.")]
    n_ruff_violations: Annotated[int, Col("Samples ruff_violations_mean is over.")]
    execution_time_ms_mean: Annotated[
        float | None,
        Col(
            "Mean of the solution's own CPU time under test (ms), over runs that ended "
            "within the limits."
        ),
    ]
    n_execution_time_ms: Annotated[int, Col("Samples execution_time_ms_mean is over.")]
    peak_memory_mb_mean: Annotated[
        float | None,
        Col("Mean increase of peak memory over the worker's baseline (MiB), same samples."),
    ]
    n_peak_memory_mb: Annotated[int, Col("Samples peak_memory_mb_mean is over.")]
    n_pass: Annotated[int, Col(f"Rows with status pass: {STATUS_MEANINGS['pass']}.")]
    n_fail: Annotated[int, Col(f"Rows with status fail: {STATUS_MEANINGS['fail']}.")]
    n_error: Annotated[int, Col(f"Rows with status error: {STATUS_MEANINGS['error']}.")]
    n_module_error: Annotated[
        int, Col(f"Rows with status module_error: {STATUS_MEANINGS['module_error']}.")
    ]
    n_import_error: Annotated[
        int, Col(f"Rows with status import_error: {STATUS_MEANINGS['import_error']}.")
    ]
    n_syntax_error: Annotated[
        int, Col(f"Rows with status syntax_error: {STATUS_MEANINGS['syntax_error']}.")
    ]
    n_no_code: Annotated[int, Col(f"Rows with status no_code: {STATUS_MEANINGS['no_code']}.")]
    n_timeout: Annotated[int, Col(f"Rows with status timeout: {STATUS_MEANINGS['timeout']}.")]
    n_oom: Annotated[int, Col(f"Rows with status oom: {STATUS_MEANINGS['oom']}.")]
    n_generation_error: Annotated[
        int, Col(f"Rows with status generation_error: {STATUS_MEANINGS['generation_error']}.")
    ]
    n_sandbox_error: Annotated[
        int, Col(f"Rows with status sandbox_error: {STATUS_MEANINGS['sandbox_error']}.")
    ]
    n_suite_error: Annotated[
        int, Col(f"Rows with status suite_error: {STATUS_MEANINGS['suite_error']}.")
    ]
    n_retried: Annotated[
        int,
        Col("Rows whose first verdict (timeout, oom, sandbox_error) was re-run once (retried)."),
    ]
    n_flaky: Annotated[
        int,
        Col("Re-run rows whose verdict changed on the re-run: flaky verdicts, not the model's."),
    ]
    assembly_counts: Annotated[
        str,
        Col(
            'JSON {assembly path: rows}, e.g. {"prompt+completion": 160, "fence_rescued": 4}: '
            "how each program was built from the reply (see results.assembly)."
        ),
    ]
    prompt_tokens: Annotated[
        int | None, Col("Prompt tokens over all rows (sandbox errors too: they were paid).")
    ]
    completion_tokens: Annotated[int | None, Col("Completion tokens over all rows.")]
    cost_usd: Annotated[
        float | None,
        Col(
            "Total cost; null when any reply's price is unknown (failed generations cost nothing)."
        ),
    ]
    cost_usd_known: Annotated[
        float, Col("Sum of the known costs: a lower bound when price_unknown.")
    ]
    n_price_unknown: Annotated[int, Col("Rows whose cost is unknown.")]
    price_unknown: Annotated[bool, Col("Some price was unknown, so cost_usd is null.")]
    cost_per_sample_usd: Annotated[
        float | None, Col("cost_usd / rows; the cost axis of the Pareto front.")
    ]
    cost_per_pass_usd: Annotated[
        float | None, Col("cost_usd / n_pass; null when either is unknown or zero.")
    ]
    on_pareto_front: Annotated[
        bool, Col("No other model is both cheaper-or-equal and better-or-equal.")
    ]
    pareto_note: Annotated[str, Col("Why a model is off the front when not by dominance, else ''.")]
    latency_p50_s: Annotated[
        float | None, Col("Median call latency in seconds (rows with a positive latency).")
    ]
    latency_p95_s: Annotated[float | None, Col("95th percentile call latency in seconds.")]
    tokens_per_s: Annotated[
        float | None, Col("Sum of completion tokens over sum of latency, same rows.")
    ]

    @classmethod
    def read(cls, table: pa.Table) -> list[Self]:
        """The rows of a summary table (of this or an older version: absent columns None)."""
        return from_table(cls, table)


assert [f"n_{s}" for s in STATUSES] == [
    f.name for f in fields(SummaryRow) if f.name.removeprefix("n_") in STATUSES
], "SummaryRow counts every status, in STATUSES' order"


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


def summary_table(rows: list[SummaryRow]) -> pa.Table:
    """Summary rows as a table of exactly ``SUMMARY_SCHEMA``."""
    return to_table(rows, SUMMARY_SCHEMA)


def _schema(columns: list[tuple[str, pa.DataType, str]]) -> pa.Schema:
    return pa.schema(
        [pa.field(name, typ, metadata={"description": desc}) for name, typ, desc in columns],
        metadata={"vivek_summary_schema_version": SUMMARY_SCHEMA_VERSION},
    )


SUMMARY_SCHEMA = arrow_schema(SummaryRow, {"vivek_summary_schema_version": SUMMARY_SCHEMA_VERSION})
COMPARISON_SCHEMA = _schema(COMPARISON_COLUMNS)
HISTORY_SCHEMA = _schema(HISTORY_COLUMNS)
