"""The results table: one row per model x task x sample. The schema is a contract.

Field order is stable; every column is documented in ``COLUMNS``. Writers go
through :func:`write_table`, which writes to a temporary name and renames, so a
crash never leaves a half-written Parquet file behind.
"""

from __future__ import annotations

import json
import logging
import os
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import fsspec
import pyarrow as pa
import pyarrow.parquet as pq

from tasks.record import sanitize

log = logging.getLogger("vivek.results")

SCHEMA_VERSION = "3"

# Null means "not measured / not applicable", never "measured zero". A column's
# description says when it is null. Rows of status generation_error have no reply;
# no_code and syntax_error rows never reached the sandbox; sandbox_error and
# suite_error rows are unscored (tasks.record.types.UNSCORED_STATUSES).
_NOT_RUN = "null when the tests did not run (no code, syntax error, sandbox or suite error)"
_NO_CODE = "null when there is no parsable code"
_NO_GEN = "null when the provider returned nothing (generation_error)"
_SELF = "self-reported by the solution's process under test"

# (name, type, description) in file order.
COLUMNS: list[tuple[str, pa.DataType, str]] = [
    ("run_id", pa.string(), "Run identifier (UTC timestamp + short random suffix)."),
    ("suite", pa.string(), "Suite name."),
    ("model", pa.string(), "Model label, PROVIDER:MODEL."),
    ("provider", pa.string(), "Provider name."),
    ("task_id", pa.string(), "Task identifier within the suite."),
    ("sample", pa.int32(), "Sample index, 0-based."),
    ("status", pa.string(), "One of tasks.record.types.STATUSES; meanings in STATUS_MEANINGS."),
    (
        "retried",
        pa.bool_(),
        "The first verdict was timeout, oom or sandbox_error and the sample was re-run once, "
        "alone, under the same limits and without coverage tracing; status is the second "
        "verdict. False when not re-run.",
    ),
    (
        "first_status",
        pa.string(),
        "The first verdict of a re-run sample (see retried); null when not re-run.",
    ),
    ("error", pa.string(), "Short reason for any status but pass; empty on pass."),
    (
        "error_kind",
        pa.string(),
        "For generation errors: rate_limit|transient|permanent|internal; else empty.",
    ),
    ("attempts", pa.int32(), "Provider calls made for this cell (0 when served from cache)."),
    ("completion", pa.string(), "The model's raw reply; empty when the provider failed."),
    ("code", pa.string(), f"The program checked (see assembly); empty for no_code; {_NO_GEN}."),
    (
        "assembly",
        pa.string(),
        "How the program was built from the reply: prompt+completion | reply | "
        "reply+prompt_context | setup+reply (MBPP: the task's setup code and test imports, "
        f"then the reply's code) | fence_rescued | none (no code); {_NO_GEN}.",
    ),
    ("syntax_valid", pa.bool_(), "The code parses with ast; null when there is no code."),
    (
        "imports_resolved",
        pa.bool_(),
        f"Every imported top-level module exists (stdlib or installed); {_NO_CODE}.",
    ),
    (
        "missing_imports",
        pa.list_(pa.string()),
        f"Imported modules that do not exist (hallucinated packages); {_NO_CODE}.",
    ),
    (
        "runs_without_error",
        pa.bool_(),
        "The module loaded and no test raised an exception from the solution's own code "
        f"(assertion failures do not count); {_NOT_RUN}.",
    ),
    ("tests_passed", pa.int32(), f"Tests that passed; {_NOT_RUN}."),
    ("tests_total", pa.int32(), f"Tests collected from the task's test source; {_NOT_RUN}."),
    ("tests_failed", pa.int32(), f"tests_total - tests_passed; {_NOT_RUN}."),
    (
        "extra_tests_passed",
        pa.int32(),
        "Differential checks whose output matched the reference's; null when none ran.",
    ),
    (
        "extra_tests_total",
        pa.int32(),
        "Differential checks run; null when none ran (no reference, no derivable input, "
        "or the tests did not run).",
    ),
    (
        "plus_passed",
        pa.bool_(),
        "EvalPlus's plus verdict: the visible tests passed and every extra test agreed with "
        "the reference (pass@1+ counts these); False when the visible tests did not pass, "
        "even if no extra call ran; null when the task has no extra tests, the row is "
        "unscored, or the sample never reached the sandbox (no_code, syntax_error, "
        "generation_error: the summary counts those as not passing).",
    ),
    (
        "coverage",
        pa.float64(),
        "Share of the solution's statements the tests executed (lines recorded by slipcover, "
        f"{_SELF}, counted against coverage.py's statements); "
        "null when not measured.",
    ),
    ("ruff_violations", pa.int32(), f"Ruff findings under Vivek's rule set; {_NO_CODE}."),
    (
        "ruff_codes",
        pa.list_(pa.string()),
        f"Ruff rule codes found, one entry per finding; {_NO_CODE}.",
    ),
    ("follows_style_guide", pa.bool_(), f"No ruff findings; {_NO_CODE}."),
    (
        "type_hint_ratio",
        pa.float64(),
        f"Annotated parameters and returns over all of them; {_NO_CODE}.",
    ),
    (
        "docstring_ratio",
        pa.float64(),
        f"Public functions and classes with a docstring over all of them; {_NO_CODE}.",
    ),
    (
        "execution_time_ms",
        pa.float64(),
        "CPU time of every process the sample started, from its fork to its end (module load "
        "and serving included), in milliseconds, measured by the sandbox's worker; "
        f"{_NOT_RUN}, or hit a limit (timeout, oom: the figure would be the limit).",
    ),
    (
        "peak_memory_mb",
        pa.float64(),
        "The solution process's peak resident memory over its memory at birth (a fork of "
        "the sandbox's worker), in MiB, from the kernel; null like execution_time_ms.",
    ),
    (
        "cpu_limit_s",
        pa.float64(),
        "CPU-time limit the sample ran under: 4x its task's reference CPU time, at least 3 s, "
        "at most [sandbox] cpu_s (the configured limit when the task has no reference); "
        f"{_NOT_RUN}.",
    ),
    (
        "side_effects",
        pa.list_(pa.string()),
        f"Files created or changed, and printed output, under test; {_NOT_RUN}.",
    ),
    (
        "overall_score",
        pa.float64(),
        "Quality score in [0, 1] (tasks/quality/score.py); 0 for statuses with nothing "
        "usable (generation_error, no_code, syntax_error, ...); null for unscored statuses.",
    ),
    ("score_breakdown", pa.string(), "JSON: points lost per score term; null when unscored."),
    ("prompt_tokens", pa.int64(), f"Prompt tokens as the API reported them; {_NO_GEN}."),
    ("completion_tokens", pa.int64(), f"Completion tokens as the API reported them; {_NO_GEN}."),
    ("latency_s", pa.float64(), f"Wall time of the successful call in seconds; {_NO_GEN}."),
    (
        "cost_usd",
        pa.float64(),
        "Cost in USD, 0 for local models; null when the price is unknown (price_known "
        "False) or there was no reply to price (price_known null).",
    ),
    (
        "price_known",
        pa.bool_(),
        "False when no price was found for a hosted model; null when there was no reply "
        "(generation_error: nothing to price, and the row does not make the cost unknown).",
    ),
    (
        "temperature",
        pa.float64(),
        "Sampling temperature requested by the run (see temperature_sent).",
    ),
    (
        "temperature_sent",
        pa.float64(),
        "Temperature the provider was actually sent; null when none was sent (provider "
        "default) or there was no call.",
    ),
    ("max_tokens", pa.int32(), "Completion token limit requested."),
    ("seed", pa.int64(), "Seed requested; null when unset."),
    ("system_prompt", pa.string(), "System prompt requested."),
    ("finish_reason", pa.string(), "Why generation stopped, as the API said; null when unsaid."),
    ("timestamp", pa.string(), f"UTC time of the call (ISO 8601); {_NO_GEN}."),
    ("generation_key", pa.string(), "Content key of the generation cell (cache key)."),
    ("cached", pa.bool_(), "The generation came from the cache (no provider call this run)."),
    (
        "sandbox",
        pa.string(),
        "JSON: the sandbox configuration the checks ran under; null when nothing ran.",
    ),
    ("checker_version", pa.string(), "Version of the checks that produced the row."),
]

SCHEMA = pa.schema(
    [pa.field(name, typ, metadata={"description": desc}) for name, typ, desc in COLUMNS],
    metadata={"vivek_schema_version": SCHEMA_VERSION},
)
COLUMN_NAMES = [name for name, _, _ in COLUMNS]
_NAMES = frozenset(COLUMN_NAMES)


def rows_to_table(rows: Sequence[Mapping[str, Any]]) -> pa.Table:
    """Build a table with exactly SCHEMA, one row per input, whatever the values.

    Missing keys are null. A value that does not fit its column is coerced or nulled
    (see ``tasks.record.sanitize``) and the row's ``error`` says so; unknown keys are dropped
    and named there too. Anything that is not a mapping becomes a row of nulls.
    """
    rows = [r if isinstance(r, Mapping) else {} for r in rows]
    notes: list[tuple[int, str, str]] = []
    for i, row in enumerate(rows):
        notes += [(i, str(k), "unknown column dropped") for k in row if k not in _NAMES]
    arrays = [
        sanitize.column([row.get(name) for row in rows], typ, name, notes)
        for name, typ, _ in COLUMNS
    ]
    table = pa.Table.from_arrays(arrays, schema=SCHEMA)
    if notes:
        table = _note_coercions(table, notes)
    return table


def _note_coercions(table: pa.Table, notes: list[tuple[int, str, str]]) -> pa.Table:
    by_row: dict[int, list[str]] = {}
    for i, name, why in notes:
        by_row.setdefault(i, []).append(f"{sanitize.text(name)[:60]}: {why}")
    log.warning("results: %d value(s) coerced in %d row(s)", len(notes), len(by_row))
    errors = table["error"].to_pylist()
    for i, items in by_row.items():
        more = f"; and {len(items) - 8} more" if len(items) > 8 else ""
        said = f"[invalid values: {'; '.join(items[:8])}{more}]"
        errors[i] = f"{errors[i]} {said}".strip() if errors[i] else said
    return table.set_column(
        COLUMN_NAMES.index("error"), SCHEMA.field("error"), pa.array(errors, pa.string())
    )


def write_table(table: pa.Table, url: str) -> None:
    """Write Parquet atomically: temp file in the same folder, then rename."""
    fs, path = fsspec.core.url_to_fs(url)
    parent = os.path.dirname(path)
    fs.makedirs(parent, exist_ok=True)
    tmp = f"{parent}/.{os.path.basename(path)}.{uuid.uuid4().hex}.tmp"
    try:
        with fs.open(tmp, "wb") as fh:
            pq.write_table(table, fh, compression="zstd")
        fs.mv(tmp, path)
    except BaseException:  # a full disk must not leave a half-written temporary file
        if fs.exists(tmp):
            fs.rm(tmp)
        raise


def read_table(url: str) -> pa.Table:
    fs, path = fsspec.core.url_to_fs(url)
    with fs.open(path, "rb") as fh:
        data = fh.read()
    # From bytes, not the Python file object: Arrow's scan threads would otherwise release
    # that object after interpreter shutdown began, and the process aborts at exit.
    return pq.read_table(pa.BufferReader(data))


def write_text(url: str, text: str) -> None:
    """Atomic text write (reports, JSON)."""
    fs, path = fsspec.core.url_to_fs(url)
    parent = os.path.dirname(path)
    fs.makedirs(parent, exist_ok=True)
    tmp = f"{parent}/.{os.path.basename(path)}.{uuid.uuid4().hex}.tmp"
    try:
        with fs.open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text)
        fs.mv(tmp, path)
    except BaseException:
        if fs.exists(tmp):
            fs.rm(tmp)
        raise


def to_json(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, default=str)


def iter_rows(table: pa.Table) -> Iterable[dict[str, Any]]:
    return table.to_pylist()
