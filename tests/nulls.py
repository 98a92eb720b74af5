"""The null contract of a result row: which columns are filled when (test helper)."""

# Null is allowed only where it carries meaning: an unset seed, an unknown price, a
# temperature that was not sent, an unsaid finish reason, differential checks not run.
NULLABLE = {"seed", "cost_usd", "temperature_sent", "finish_reason"}
NULLABLE |= {"extra_tests_passed", "extra_tests_total", "plus_passed"}
# A verdict that was not re-run has no first status.
NULLABLE |= {"first_status"}
# Columns a row keeps when nothing was generated; every other one is null (not measured).
FILLED_WITHOUT_GENERATION = {
    "run_id", "suite", "model", "provider", "task_id", "sample", "status", "error",
    "error_kind", "attempts", "completion", "overall_score", "score_breakdown", "temperature",
    "max_tokens", "system_prompt", "generation_key", "cached", "checker_version", "retried",
}  # fmt: skip
# Measured only when the tests ran.
RUNTIME = {
    "runs_without_error", "tests_passed", "tests_total", "tests_failed", "coverage",
    "execution_time_ms", "peak_memory_mb", "side_effects", "sandbox", "cpu_limit_s",
}  # fmt: skip
STATIC = {"imports_resolved", "missing_imports", "ruff_violations", "ruff_codes"}
STATIC |= {"follows_style_guide", "type_hint_ratio", "docstring_ratio"}
