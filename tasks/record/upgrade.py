"""Read results written by older Vivek versions as if the current checks had written them.

Before checker version 2 a row that never ran was filled with zeros (coverage, time,
memory, ruff, ratios, test counts), ``import_error`` meant any exception while the
module loaded, a failed generation claimed ``price_known=True`` with a null cost,
and ``assembly`` / ``temperature_sent`` did not exist. :func:`upgrade_results`
fixes all of that on read, so ``vivek report`` on an old run gives honest numbers.
Before checker version 4 rows had no ``plus_passed`` (derived here from the extra-test
counts by the same rule the checker uses), ``retried`` or ``first_status`` (nothing was
re-run then: False and null). Rows written by the current checker pass through unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable

import pyarrow as pa
import pyarrow.compute as pc

from tasks.record.checks import plus_verdict
from tasks.record.results import SCHEMA

# Check versions whose rows used zeros for "not measured".
OLD_CHECKERS = ("1",)
_RUNTIME = (
    "runs_without_error", "tests_passed", "tests_total", "tests_failed", "extra_tests_passed",
    "extra_tests_total", "coverage", "execution_time_ms", "peak_memory_mb", "side_effects",
    "sandbox",
)  # fmt: skip
_STATIC = (
    "imports_resolved", "missing_imports", "ruff_violations", "ruff_codes",
    "follows_style_guide", "type_hint_ratio", "docstring_ratio",
)  # fmt: skip


def _conform(table: pa.Table) -> pa.Table:
    """Exactly SCHEMA: missing columns null, others cast (null where a cast fails)."""
    arrays = []
    for f in SCHEMA:
        if f.name not in table.column_names:
            arrays.append(pa.nulls(table.num_rows, f.type))
            continue
        col = table[f.name]
        if not col.type.equals(f.type):
            try:
                col = pc.cast(col, f.type)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                col = pa.nulls(table.num_rows, f.type)
        arrays.append(col)
    return pa.Table.from_arrays(arrays, schema=SCHEMA)


def _null_where(table: pa.Table, mask: pa.ChunkedArray, names: Iterable[str]) -> pa.Table:
    for name in names:
        i = table.schema.get_field_index(name)
        typ = table.schema.field(name).type
        col = pc.if_else(mask, pa.scalar(None, typ), table[name])
        table = table.set_column(i, table.schema.field(name), col)
    return table


def _set_where(table: pa.Table, mask: pa.ChunkedArray, name: str, value: object) -> pa.Table:
    i = table.schema.get_field_index(name)
    typ = table.schema.field(name).type
    col = pc.if_else(mask, pa.scalar(value, typ), table[name])
    return table.set_column(i, table.schema.field(name), col)


def _plus_from_counts(table: pa.Table) -> pa.Array:
    """``plus_passed`` for rows written before it existed, by :func:`plus_verdict`."""
    total = pc.fill_null(pc.greater(table["extra_tests_total"], 0), False)
    with_extra = set(pc.unique(table["task_id"].filter(total)).to_pylist())
    columns = ("status", "extra_tests_passed", "extra_tests_total", "task_id")
    values = [
        plus_verdict(status or "", passed, count, task in with_extra)
        for status, passed, count, task in zip(
            *(table[c].to_pylist() for c in columns), strict=True
        )
    ]
    return pa.array(values, pa.bool_())


def upgrade_results(table: pa.Table) -> pa.Table:
    """A results table of any version as ``tasks.record.results.SCHEMA`` with today's meanings."""
    missing = set(SCHEMA.names) - set(table.column_names)
    table = _conform(table)
    if table.num_rows == 0:
        return table
    if "retried" in missing:
        table = _set_where(table, pa.array([True] * table.num_rows), "retried", False)
    if "plus_passed" in missing:
        i = table.schema.get_field_index("plus_passed")
        table = table.set_column(i, SCHEMA.field("plus_passed"), _plus_from_counts(table))
    old = pc.fill_null(pc.is_in(table["checker_version"], pa.array(OLD_CHECKERS)), False)
    if not pc.any(old).as_py():
        return table
    status = pc.fill_null(table["status"], "")

    def where(*statuses: str) -> pa.ChunkedArray:
        return pc.and_(old, pc.is_in(status, pa.array(statuses)))

    no_gen = where("generation_error")
    table = _null_where(table, no_gen, ("code", "syntax_valid", *_STATIC, *_RUNTIME))
    no_price = pc.and_(no_gen, pc.is_null(table["cost_usd"]))
    table = _null_where(table, no_price, ("price_known",))
    table = _null_where(table, where("no_code"), ("syntax_valid", *_STATIC, *_RUNTIME))
    table = _null_where(table, where("syntax_error"), (*_STATIC, *_RUNTIME))
    table = _null_where(table, where("sandbox_error"), (*_RUNTIME, "overall_score"))
    table = _null_where(table, where("timeout", "oom"), ("execution_time_ms", "peak_memory_mb"))
    # "0 when the task has no reference" is "not run" now.
    no_extra = pc.and_(old, pc.fill_null(pc.equal(table["extra_tests_total"], 0), False))
    table = _null_where(table, no_extra, ("extra_tests_passed", "extra_tests_total"))
    # The old coverage was 0.0 whenever the module did not import: not measured.
    not_loaded = pc.and_(old, pc.invert(pc.fill_null(table["runs_without_error"], True)))
    table = _null_where(table, not_loaded, ("coverage",))
    # Old import_error meant any failure while loading: a package only if one was missing.
    has_missing = pc.fill_null(pc.greater(pc.list_value_length(table["missing_imports"]), 0), False)
    loader = pc.and_(where("import_error"), pc.invert(has_missing))
    return _set_where(table, loader, "status", "module_error")
