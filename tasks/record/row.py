"""The typed result row: one per model x task x sample, one constructor per outcome.

:class:`Row` has exactly the columns of ``tasks.record.results.COLUMNS``, in order (a
test holds them together). Build it with :meth:`Row.checked` (generated, then
checked: pass, fail, no_code, syntax_error, suite_error, ...),
:meth:`Row.generation_failed` or :meth:`Row.sandbox_failed`; never by hand.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from tasks.record.checks import CHECK_COLUMNS, CHECKER_VERSION, NULL_CHECKS, CheckFields
from tasks.run.generate import CellOutcome


@dataclass(frozen=True)
class Row:
    """One row of ``results.parquet``; see ``tasks.record.results.COLUMNS`` for each column."""

    run_id: str
    suite: str
    model: str
    provider: str
    task_id: str
    sample: int
    status: str
    retried: bool
    first_status: str | None
    error: str
    error_kind: str
    attempts: int
    completion: str
    code: str | None
    assembly: str | None
    syntax_valid: bool | None
    imports_resolved: bool | None
    missing_imports: list[str] | None
    runs_without_error: bool | None
    tests_passed: int | None
    tests_total: int | None
    tests_failed: int | None
    extra_tests_passed: int | None
    extra_tests_total: int | None
    plus_passed: bool | None
    coverage: float | None
    ruff_violations: int | None
    ruff_codes: list[str] | None
    follows_style_guide: bool | None
    type_hint_ratio: float | None
    docstring_ratio: float | None
    execution_time_ms: float | None
    peak_memory_mb: float | None
    cpu_limit_s: float | None
    side_effects: list[str] | None
    overall_score: float | None
    score_breakdown: str | None
    prompt_tokens: int | None
    completion_tokens: int | None
    latency_s: float | None
    cost_usd: float | None
    price_known: bool | None
    temperature: float | None
    temperature_sent: float | None
    max_tokens: int | None
    seed: int | None
    system_prompt: str | None
    finish_reason: str | None
    timestamp: str | None
    generation_key: str
    cached: bool
    sandbox: str | None
    checker_version: str

    @classmethod
    def checked(
        cls, run_id: str, suite: str, outcome: CellOutcome, checks: CheckFields | Mapping
    ) -> Row:
        """A generated reply and what the checks found (any status the checks decide)."""
        fields = checks.to_dict() if isinstance(checks, CheckFields) else dict(checks)
        return cls._build(run_id, suite, outcome, {**NULL_CHECKS, **fields})

    @classmethod
    def generation_failed(cls, run_id: str, suite: str, outcome: CellOutcome) -> Row:
        """The provider failed: no reply, nothing checked; the sample scores 0."""
        fields = {
            **NULL_CHECKS,
            "status": "generation_error",
            "error": outcome.error or "the provider returned nothing",
            "overall_score": 0.0,
            "score_breakdown": '{"gate": 1.0}',
        }
        return cls._build(run_id, suite, outcome, fields)

    @classmethod
    def sandbox_failed(cls, run_id: str, suite: str, outcome: CellOutcome, reason: str) -> Row:
        """The check task itself failed (infrastructure): unscored, nothing measured."""
        return cls.checked(run_id, suite, outcome, CheckFields.sandbox_failed(reason))

    @classmethod
    def _build(cls, run_id: str, suite: str, outcome: CellOutcome, checks: dict[str, Any]) -> Row:
        gen = outcome.generation
        opts = outcome.options
        # A reply with a null cost has an unknown price; no reply has nothing to price.
        price_known = None if gen is None else gen.cost_usd is not None
        values = {
            "run_id": run_id,
            "suite": suite,
            "model": outcome.model,
            "provider": outcome.provider,
            "task_id": outcome.task_id,
            "sample": outcome.sample,
            "error_kind": outcome.error_kind,
            "attempts": outcome.attempts,
            "completion": gen.text if gen else "",
            "prompt_tokens": gen.prompt_tokens if gen else None,
            "completion_tokens": gen.completion_tokens if gen else None,
            "latency_s": gen.latency_s if gen else None,
            "cost_usd": gen.cost_usd if gen else None,
            "price_known": price_known,
            "temperature": opts.temperature,
            "temperature_sent": getattr(gen, "temperature_sent", None) if gen else None,
            "max_tokens": opts.max_tokens,
            "seed": opts.seed,
            "system_prompt": opts.system_prompt or "",
            "finish_reason": gen.finish_reason if gen else None,
            "timestamp": gen.timestamp if gen else None,
            "generation_key": outcome.key,
            "cached": outcome.cached,
            "checker_version": CHECKER_VERSION,
        }
        values.update({k: checks.get(k) for k in CHECK_COLUMNS})
        values["error"] = values["error"] or ""
        values["retried"] = bool(values["retried"])
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
