"""The results table: one row per model x task x sample. The schema is a contract.

Field order is stable; every column is documented in ``COLUMNS``. Writers go
through :func:`write_table`, which writes to a temporary name and renames, so a
crash never leaves a half-written Parquet file behind.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import fsspec
import pyarrow as pa
import pyarrow.parquet as pq

SCHEMA_VERSION = "1"

# (name, type, description) in file order.
COLUMNS: list[tuple[str, pa.DataType, str]] = [
    ("run_id", pa.string(), "Run identifier (UTC timestamp + short random suffix)."),
    ("suite", pa.string(), "Suite name."),
    ("model", pa.string(), "Model label, PROVIDER:MODEL."),
    ("provider", pa.string(), "Provider name."),
    ("task_id", pa.string(), "Task identifier within the suite."),
    ("sample", pa.int32(), "Sample index, 0-based."),
    (
        "status",
        pa.string(),
        "pass|fail|error|timeout|oom|syntax_error|import_error|no_code|generation_error|sandbox_error.",
    ),
    ("error", pa.string(), "Short reason for any status but pass; empty on pass."),
    (
        "error_kind",
        pa.string(),
        "For generation errors: rate_limit|transient|permanent|internal; else empty.",
    ),
    ("attempts", pa.int32(), "Provider calls made for this cell (0 when served from cache)."),
    ("completion", pa.string(), "The model's raw reply."),
    ("code", pa.string(), "Python code extracted from the reply (empty for no_code)."),
    ("syntax_valid", pa.bool_(), "The code parses with ast."),
    (
        "imports_resolved",
        pa.bool_(),
        "Every imported top-level module exists (stdlib or installed).",
    ),
    (
        "missing_imports",
        pa.list_(pa.string()),
        "Imported modules that do not exist (hallucinated packages).",
    ),
    ("runs_without_error", pa.bool_(), "The module imports cleanly in the sandbox."),
    ("tests_passed", pa.int32(), "Tests that passed."),
    ("tests_total", pa.int32(), "Tests collected from the task's test source."),
    ("tests_failed", pa.int32(), "tests_total - tests_passed."),
    ("extra_tests_passed", pa.int32(), "Differential checks that matched the reference."),
    (
        "extra_tests_total",
        pa.int32(),
        "Differential checks run (0 when the task has no reference).",
    ),
    (
        "coverage",
        pa.float64(),
        "Share of the solution's statements the tests executed (coverage.py).",
    ),
    ("ruff_violations", pa.int32(), "Ruff findings under Vivek's rule set."),
    ("ruff_codes", pa.list_(pa.string()), "Ruff rule codes found, one entry per finding."),
    ("follows_style_guide", pa.bool_(), "No ruff findings."),
    ("type_hint_ratio", pa.float64(), "Annotated parameters and returns over all of them."),
    (
        "docstring_ratio",
        pa.float64(),
        "Public functions and classes with a docstring over all of them.",
    ),
    ("execution_time_ms", pa.float64(), "CPU time of the test run in milliseconds."),
    ("peak_memory_mb", pa.float64(), "Peak resident memory of the test run in MiB."),
    (
        "side_effects",
        pa.list_(pa.string()),
        "Files created or changed, and printed output, under test.",
    ),
    ("overall_score", pa.float64(), "Quality score in [0, 1]; see tasks/quality/score.py."),
    ("score_breakdown", pa.string(), "JSON: points lost per score term."),
    ("prompt_tokens", pa.int64(), "Prompt tokens as the API reported them."),
    ("completion_tokens", pa.int64(), "Completion tokens as the API reported them."),
    ("latency_s", pa.float64(), "Wall time of the successful call in seconds."),
    ("cost_usd", pa.float64(), "Cost in USD; null when the price is unknown, 0 for local models."),
    ("price_known", pa.bool_(), "False when no price was found for a hosted model."),
    ("temperature", pa.float64(), "Sampling temperature sent."),
    ("max_tokens", pa.int32(), "Completion token limit sent."),
    ("seed", pa.int64(), "Seed sent, if any."),
    ("system_prompt", pa.string(), "System prompt sent."),
    ("finish_reason", pa.string(), "Why generation stopped, as the API said."),
    ("timestamp", pa.string(), "UTC time of the call (ISO 8601)."),
    ("generation_key", pa.string(), "Content key of the generation cell (cache key)."),
    ("cached", pa.bool_(), "The generation came from the cache (no provider call this run)."),
    ("sandbox", pa.string(), "JSON: the sandbox configuration the checks ran under."),
    ("checker_version", pa.string(), "Version of the checks that produced the row."),
]

SCHEMA = pa.schema(
    [pa.field(name, typ, metadata={"description": desc}) for name, typ, desc in COLUMNS],
    metadata={"vivek_schema_version": SCHEMA_VERSION},
)
COLUMN_NAMES = [name for name, _, _ in COLUMNS]


def rows_to_table(rows: Sequence[Mapping[str, Any]]) -> pa.Table:
    """Build a table with exactly SCHEMA; unknown keys are an error, missing keys null."""
    for row in rows:
        extra = set(row) - set(COLUMN_NAMES)
        if extra:
            raise ValueError(f"unknown result columns: {sorted(extra)}")
    data = {name: [row.get(name) for row in rows] for name in COLUMN_NAMES}
    return pa.Table.from_pydict(data, schema=SCHEMA)


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
        return pq.read_table(fh)


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
