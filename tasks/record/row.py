"""The result row: one per model x task x sample. Its fields are the results table.

Every column of ``results.parquet`` is declared once, here, with its type and what it
means (:class:`~tasks.record.columns.Col`); ``tasks.record.results.SCHEMA`` is made
from this record, so the Parquet file documents itself. Build a row with
:meth:`Row.checked` (generated, then checked: pass, fail, no_code, syntax_error,
suite_error, ...), :meth:`Row.generation_failed` or :meth:`Row.sandbox_failed`; never
by hand. The check columns are :class:`~tasks.record.checks.CheckFields`, by name.

Null means "not measured / not applicable", never "measured zero"; each column's text
says when it is null. Rows of status generation_error have no reply; no_code and
syntax_error rows never reached the sandbox; sandbox_error and suite_error rows are
unscored (``tasks.record.types.UNSCORED_STATUSES``).
"""

from dataclasses import asdict, dataclass, fields
from typing import Annotated, Any, Self

import pyarrow as pa

from tasks.record.checks import CHECK_COLUMNS, CHECKER_VERSION, CheckFields
from tasks.record.columns import Col
from tasks.record.types import CellOutcome

_NOT_RUN = "null when the tests did not run (no code, syntax error, sandbox or suite error)"
_NO_CODE = "null when there is no parsable code"
_NO_GEN = "null when the provider returned nothing (generation_error)"
_SELF = "self-reported by the solution's process under test"


@dataclass(frozen=True)
class Row:
    """One row of ``results.parquet``; each field's ``Col`` says what the column holds."""

    run_id: Annotated[str, Col("Run identifier (UTC timestamp + short random suffix).")]
    suite: Annotated[str, Col("Suite name.")]
    model: Annotated[str, Col("Model label, PROVIDER:MODEL.")]
    provider: Annotated[str, Col("Provider name.")]
    task_id: Annotated[str, Col("Task identifier within the suite.")]
    sample: Annotated[int, Col("Sample index, 0-based.", pa.int32())]
    status: Annotated[str, Col("One of tasks.record.types.STATUSES; meanings in STATUS_MEANINGS.")]
    retried: Annotated[
        bool,
        Col(
            "The first verdict was timeout, oom or sandbox_error and the sample was re-run once, "
            "alone, under the same limits and without coverage tracing; status is the second "
            "verdict. False when not re-run."
        ),
    ]
    first_status: Annotated[
        str | None, Col("The first verdict of a re-run sample (see retried); null when not re-run.")
    ]
    error: Annotated[str, Col("Short reason for any status but pass; empty on pass.")]
    error_kind: Annotated[
        str, Col("For generation errors: rate_limit|transient|permanent|internal; else empty.")
    ]
    attempts: Annotated[
        int, Col("Provider calls made for this cell (0 when served from cache).", pa.int32())
    ]
    completion: Annotated[str, Col("The model's raw reply; empty when the provider failed.")]
    code: Annotated[
        str | None, Col(f"The program checked (see assembly); empty for no_code; {_NO_GEN}.")
    ]
    assembly: Annotated[
        str | None,
        Col(
            "How the program was built from the reply: prompt+completion | reply | "
            "reply+prompt_context | setup+reply (MBPP: the task's setup code and test imports, "
            f"then the reply's code) | fence_rescued | none (no code); {_NO_GEN}."
        ),
    ]
    syntax_valid: Annotated[
        bool | None, Col("The code parses with ast; null when there is no code.")
    ]
    imports_resolved: Annotated[
        bool | None,
        Col(f"Every imported top-level module exists (stdlib or installed); {_NO_CODE}."),
    ]
    missing_imports: Annotated[
        tuple[str, ...] | None,
        Col(f"Imported modules that do not exist (hallucinated packages); {_NO_CODE}."),
    ]
    runs_without_error: Annotated[
        bool | None,
        Col(
            "The module loaded and no test raised an exception from the solution's own code "
            f"(assertion failures do not count); {_NOT_RUN}."
        ),
    ]
    tests_passed: Annotated[int | None, Col(f"Tests that passed; {_NOT_RUN}.", pa.int32())]
    tests_total: Annotated[
        int | None, Col(f"Tests collected from the task's test source; {_NOT_RUN}.", pa.int32())
    ]
    tests_failed: Annotated[int | None, Col(f"tests_total - tests_passed; {_NOT_RUN}.", pa.int32())]
    extra_tests_passed: Annotated[
        int | None,
        Col(
            "Differential checks whose output matched the reference's; null when none ran.",
            pa.int32(),
        ),
    ]
    extra_tests_total: Annotated[
        int | None,
        Col(
            "Differential checks run; null when none ran (no reference, no derivable input, "
            "or the tests did not run).",
            pa.int32(),
        ),
    ]
    plus_passed: Annotated[
        bool | None,
        Col(
            "EvalPlus's plus verdict: the visible tests passed and every extra test agreed with "
            "the reference (pass@1+ counts these); False when the visible tests did not pass, "
            "even if no extra call ran; null when the task has no extra tests, the row is "
            "unscored, or the sample never reached the sandbox (no_code, syntax_error, "
            "generation_error: the summary counts those as not passing)."
        ),
    ]
    coverage: Annotated[
        float | None,
        Col(
            "Share of the solution's statements the tests executed (lines recorded by slipcover, "
            f"{_SELF}, counted against coverage.py's statements); "
            "null when not measured."
        ),
    ]
    ruff_violations: Annotated[
        int | None, Col(f"Ruff findings under Vivek's rule set; {_NO_CODE}.", pa.int32())
    ]
    ruff_codes: Annotated[
        tuple[str, ...] | None, Col(f"Ruff rule codes found, one entry per finding; {_NO_CODE}.")
    ]
    follows_style_guide: Annotated[bool | None, Col(f"No ruff findings; {_NO_CODE}.")]
    type_hint_ratio: Annotated[
        float | None, Col(f"Annotated parameters and returns over all of them; {_NO_CODE}.")
    ]
    docstring_ratio: Annotated[
        float | None,
        Col(f"Public functions and classes with a docstring over all of them; {_NO_CODE}."),
    ]
    execution_time_ms: Annotated[
        float | None,
        Col(
            "CPU time of every process the sample started, from its fork to its end (module load "
            "and serving included), in milliseconds, measured by the sandbox's worker; "
            f"{_NOT_RUN}, or hit a limit (timeout, oom: the figure would be the limit)."
        ),
    ]
    peak_memory_mb: Annotated[
        float | None,
        Col(
            "The solution process's peak resident memory over its memory at birth (a fork of "
            "the sandbox's worker), in MiB, from the kernel; null like execution_time_ms."
        ),
    ]
    cpu_limit_s: Annotated[
        float | None,
        Col(
            "CPU-time limit the sample ran under: 4x its task's reference CPU time, at least 3 s, "
            "at most [sandbox] cpu_s (the configured limit when the task has no reference); "
            f"{_NOT_RUN}."
        ),
    ]
    side_effects: Annotated[
        tuple[str, ...] | None,
        Col(f"Files created or changed, and printed output, under test; {_NOT_RUN}."),
    ]
    overall_score: Annotated[
        float | None,
        Col(
            "Quality score in [0, 1] (tasks/quality/score.py); 0 for statuses with nothing "
            "usable (generation_error, no_code, syntax_error, ...); null for unscored statuses."
        ),
    ]
    score_breakdown: Annotated[
        str | None, Col("JSON: points lost per score term; null when unscored.")
    ]
    prompt_tokens: Annotated[
        int | None, Col(f"Prompt tokens as the API reported them; {_NO_GEN}.", pa.int64())
    ]
    completion_tokens: Annotated[
        int | None, Col(f"Completion tokens as the API reported them; {_NO_GEN}.", pa.int64())
    ]
    latency_s: Annotated[
        float | None, Col(f"Wall time of the successful call in seconds; {_NO_GEN}.")
    ]
    cost_usd: Annotated[
        float | None,
        Col(
            "Cost in USD, 0 for local models; null when the price is unknown (price_known "
            "False) or there was no reply to price (price_known null)."
        ),
    ]
    price_known: Annotated[
        bool | None,
        Col(
            "False when no price was found for a hosted model; null when there was no reply "
            "(generation_error: nothing to price, and the row does not make the cost unknown)."
        ),
    ]
    temperature: Annotated[
        float | None, Col("Sampling temperature requested by the run (see temperature_sent).")
    ]
    temperature_sent: Annotated[
        float | None,
        Col(
            "Temperature the provider was actually sent; null when none was sent (provider "
            "default) or there was no call."
        ),
    ]
    max_tokens: Annotated[int | None, Col("Completion token limit requested.", pa.int32())]
    seed: Annotated[int | None, Col("Seed requested; null when unset.", pa.int64())]
    system_prompt: Annotated[str | None, Col("System prompt requested.")]
    finish_reason: Annotated[
        str | None, Col("Why generation stopped, as the API said; null when unsaid.")
    ]
    timestamp: Annotated[str | None, Col(f"UTC time of the call (ISO 8601); {_NO_GEN}.")]
    generation_key: Annotated[str, Col("Content key of the generation cell (cache key).")]
    cached: Annotated[bool, Col("The generation came from the cache (no provider call this run).")]
    sandbox: Annotated[
        str | None,
        Col("JSON: the sandbox configuration the checks ran under; null when nothing ran."),
    ]
    checker_version: Annotated[str, Col("Version of the checks that produced the row.")]

    @classmethod
    def checked(cls, run_id: str, suite: str, outcome: CellOutcome, checks: CheckFields) -> Self:
        """A generated reply and what the checks found (any status the checks decide)."""
        return cls._build(run_id, suite, outcome, checks)

    @classmethod
    def generation_failed(cls, run_id: str, suite: str, outcome: CellOutcome) -> Self:
        """The provider failed: no reply, nothing checked; the sample scores 0."""
        reason = outcome.error or "the provider returned nothing"
        return cls._build(run_id, suite, outcome, CheckFields.not_generated(reason))

    @classmethod
    def sandbox_failed(cls, run_id: str, suite: str, outcome: CellOutcome, reason: str) -> Self:
        """The check task itself failed (infrastructure): unscored, nothing measured."""
        return cls.checked(run_id, suite, outcome, CheckFields.sandbox_failed(reason))

    @classmethod
    def _build(cls, run_id: str, suite: str, outcome: CellOutcome, checks: CheckFields) -> Self:
        gen = outcome.generation
        opts = outcome.options
        return cls(
            run_id=run_id,
            suite=suite,
            model=outcome.model,
            provider=outcome.provider,
            task_id=outcome.task_id,
            sample=outcome.sample,
            error_kind=outcome.error_kind,
            attempts=outcome.attempts,
            completion=gen.text if gen else "",
            prompt_tokens=gen.prompt_tokens if gen else None,
            completion_tokens=gen.completion_tokens if gen else None,
            latency_s=gen.latency_s if gen else None,
            cost_usd=gen.cost_usd if gen else None,
            # A reply with a null cost has an unknown price; no reply has nothing to price.
            price_known=None if gen is None else gen.cost_usd is not None,
            temperature=opts.temperature,
            temperature_sent=gen.temperature_sent if gen else None,
            max_tokens=opts.max_tokens,
            seed=opts.seed,
            system_prompt=opts.system_prompt or "",
            finish_reason=gen.finish_reason if gen else None,
            timestamp=gen.timestamp if gen else None,
            generation_key=outcome.key,
            cached=outcome.cached,
            checker_version=CHECKER_VERSION,
            **{name: getattr(checks, name) for name in CHECK_COLUMNS},
        )

    def unstorable(self, reason: str) -> Self:
        """This row's identity, as a sandbox_error saying why the rest cannot be stored."""
        values: dict[str, Any] = dict.fromkeys(ROW_COLUMNS)
        values |= {name: getattr(self, name) for name in _IDENTITY}
        return type(self)(**values | {"status": "sandbox_error", "error": reason})

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


ROW_COLUMNS = tuple(f.name for f in fields(Row))
# What identifies a row: kept when nothing else about it can be stored.
_IDENTITY = ("run_id", "suite", "model", "provider", "task_id", "sample", "generation_key")
