"""A table's columns declared once, as the fields of a typed record.

Each field of a frozen dataclass is annotated ``Annotated[<python type>, Col("what it
means; when it is null")]``. :func:`arrow_schema` turns the record into a pyarrow schema
whose field order is the record's and whose ``description`` metadata is each ``Col``'s
text, so the Parquet file documents itself and no second list of columns can drift.
"""

from __future__ import annotations

import types
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields, is_dataclass
from typing import Annotated, Any, Literal, TypeVar, Union, get_args, get_origin, get_type_hints

import pyarrow as pa

R = TypeVar("R")


@dataclass(frozen=True)
class Col:
    """A column's description, and its Arrow type when the Python type does not say it
    (``int`` is int64 unless given, e.g. ``pa.int32()``)."""

    doc: str
    arrow: pa.DataType | None = None


_ARROW: dict[type, pa.DataType] = {
    str: pa.string(),
    bool: pa.bool_(),
    float: pa.float64(),
    int: pa.int64(),
}


def _arrow_type(hint: Any) -> pa.DataType:
    """The Arrow type of a field's Python type: ``X | None`` is ``X`` (every column is
    nullable), and a list or tuple of ``X`` is a list of ``X``."""
    if get_origin(hint) in (Union, types.UnionType):
        (hint,) = [a for a in get_args(hint) if a is not type(None)]
    if get_origin(hint) is Literal:
        return _ARROW[type(get_args(hint)[0])]
    if get_origin(hint) in (list, tuple):
        return pa.list_(_arrow_type(get_args(hint)[0]))
    return _ARROW[hint]


def columns(record: type) -> list[tuple[str, pa.DataType, str]]:
    """``(name, Arrow type, description)`` of every field of ``record``, in order."""
    assert is_dataclass(record)
    hints = get_type_hints(record, include_extras=True)
    out = []
    for f in fields(record):
        hint = hints[f.name]
        col = next((m for m in getattr(hint, "__metadata__", ()) if isinstance(m, Col)), None)
        if get_origin(hint) is not Annotated or col is None:
            raise TypeError(f"{record.__name__}.{f.name} has no Col(...) description")
        out.append((f.name, col.arrow or _arrow_type(get_args(hint)[0]), col.doc))
    return out


def arrow_schema(record: type, metadata: Mapping[str, str]) -> pa.Schema:
    """The record as a documented Arrow schema (field order = declaration order)."""
    return pa.schema(
        [pa.field(n, t, metadata={"description": d}) for n, t, d in columns(record)],
        metadata=dict(metadata),
    )


def to_table(rows: Sequence[Any], schema: pa.Schema) -> pa.Table:
    """Records (whose fields are the schema's names) as a table of exactly ``schema``."""
    return pa.Table.from_arrays(
        [pa.array([getattr(r, f.name) for r in rows], type=f.type) for f in schema],
        schema=schema,
    )


def from_table(record: type[R], table: pa.Table) -> list[R]:
    """The table's rows as records; a column the table lacks (older files) is None, and
    list columns become tuples (records are frozen)."""
    names = [f.name for f in fields(record)]  # type: ignore[arg-type]
    present = [n for n in names if n in table.column_names]
    lists = {n for n in present if pa.types.is_list(table.schema.field(n).type)}
    out = []
    for data in table.select(present).to_pylist():
        values = {n: data.get(n) for n in names}
        for n in lists:
            values[n] = None if values[n] is None else tuple(values[n])
        out.append(record(**values))
    return out
