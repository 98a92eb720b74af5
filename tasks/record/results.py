"""The results table: one row per model x task x sample. The schema is a contract.

``SCHEMA`` is made from :class:`tasks.record.row.Row`, where each column is declared
and documented once; its field order is stable. Writers go through :func:`write_table`,
which writes to a temporary name and renames, so a crash never leaves a half-written
Parquet file behind.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Sequence

import fsspec
import pyarrow as pa
import pyarrow.parquet as pq

from tasks.record import sanitize
from tasks.record.columns import arrow_schema
from tasks.record.row import Row

log = logging.getLogger("vivek.results")

SCHEMA_VERSION = "3"

SCHEMA = arrow_schema(Row, {"vivek_schema_version": SCHEMA_VERSION})
COLUMN_NAMES = list(SCHEMA.names)


def rows_to_table(rows: Sequence[Row]) -> pa.Table:
    """The rows as a table of exactly SCHEMA, one row each, whatever their values hold.

    A value that does not fit its column is coerced or nulled (see
    ``tasks.record.sanitize``) and the row's ``error`` says so.
    """
    notes: list[tuple[int, str, str]] = []
    arrays = [
        sanitize.column([getattr(row, f.name) for row in rows], f.type, f.name, notes)
        for f in SCHEMA
    ]
    table = pa.Table.from_arrays(arrays, schema=SCHEMA)
    if notes:
        table = _note_coercions(table, notes)
    return table


def safe_table(
    rows: Sequence[Row], logger: logging.Logger | logging.LoggerAdapter = log
) -> pa.Table:
    """The results table; a row that cannot be stored becomes a sandbox_error row alone."""
    try:
        return rows_to_table(rows)
    except Exception:  # find the bad rows; the others are kept as they are
        pass
    kept = []
    for row in rows:
        try:
            rows_to_table([row])
            kept.append(row)
        except Exception as exc:
            logger.error("row %s/%s cannot be stored: %s", row.model, row.task_id, exc)
            kept.append(
                row.unstorable(f"row could not be stored: {exc.__class__.__name__}: {exc}"[:300])
            )
    return rows_to_table(kept)


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
