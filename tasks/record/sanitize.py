"""Values that always fit the results schema: one bad value never costs a row, or a run.

Each column is first built as it is (the fast path); only a column that pyarrow
refuses is rebuilt value by value, coercing what can be coerced and nulling the
rest. Every change is reported as ``(row, column, reason)`` so the caller can say
so in the row.

* Text is made valid UTF-8: a lone surrogate (``"\\udcff"``) or an undecodable byte
  becomes its backslash escape, so the raw value stays readable.
* Numbers given as text are parsed; NaN and infinities become null (not measured).
* Integers outside the column's range, and values of a type that cannot be
  coerced, become null.
* Text longer than ``MAX_TEXT_CHARS`` is cut, with a marker saying how much.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

MAX_TEXT_CHARS = 4_000_000
_INT_RANGE = {
    pa.int32(): (-(2**31), 2**31 - 1),
    pa.int64(): (-(2**63), 2**63 - 1),
}


class Coerced(Exception):
    """A value was changed or nulled; ``args[0]`` is the new value, ``args[1]`` why."""


def text(value: Any) -> str:
    """Any text or bytes as valid UTF-8 (undecodable parts backslash-escaped), capped."""
    if isinstance(value, bytes | bytearray | memoryview):
        s = bytes(value).decode("utf-8", "backslashreplace")
    else:
        s = value if isinstance(value, str) else str(value)
        try:
            s.encode("utf-8")
        except UnicodeEncodeError:
            s = s.encode("utf-8", "backslashreplace").decode("utf-8")
    if len(s) > MAX_TEXT_CHARS:
        s = s[:MAX_TEXT_CHARS] + f"... [{len(s) - MAX_TEXT_CHARS} characters cut]"
    return s


def _string(value: Any) -> str:
    if isinstance(value, str | bytes | bytearray):
        out = text(value)
        if out != value:
            raise Coerced(out, "text made valid UTF-8 or cut")
        return out
    raise Coerced(text(value), f"{type(value).__name__} turned into text")


def _integer(value: Any, typ: pa.DataType) -> int | None:
    low, high = _INT_RANGE.get(typ, _INT_RANGE[pa.int64()])
    if isinstance(value, bool):
        raise Coerced(int(value), "bool turned into an integer")
    if isinstance(value, int):
        if low <= value <= high:
            return value
        raise Coerced(None, "integer out of range")
    if isinstance(value, float) and value.is_integer() and low <= value <= high:
        raise Coerced(int(value), "float turned into an integer")
    if isinstance(value, str):
        try:
            parsed = int(value.strip())
        except ValueError:
            raise Coerced(None, f"not an integer: {text(value)[:40]!r}") from None
        if low <= parsed <= high:
            raise Coerced(parsed, "text parsed as an integer")
        raise Coerced(None, "integer out of range")
    raise Coerced(None, f"{type(value).__name__} is not an integer")


def _floating(value: Any) -> float | None:
    if isinstance(value, bool):
        raise Coerced(float(value), "bool turned into a number")
    if isinstance(value, int | float | str):
        try:
            number = float(value.strip() if isinstance(value, str) else value)
        except (ValueError, OverflowError):
            raise Coerced(None, f"not a number: {text(value)[:40]!r}") from None
        if not math.isfinite(number):
            raise Coerced(None, "not a finite number")
        if isinstance(value, float):
            return number
        raise Coerced(number, f"{type(value).__name__} turned into a number")
    raise Coerced(None, f"{type(value).__name__} is not a number")


def _boolean(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        raise Coerced(bool(value), "0/1 turned into a bool")
    raise Coerced(None, f"{type(value).__name__} is not a bool")


def _strings(value: Any) -> list[str]:
    if isinstance(value, str | bytes):
        raise Coerced([text(value)], "single text turned into a list")
    if isinstance(value, list | tuple | set | frozenset):
        out, changed = [], not isinstance(value, list)
        for item in value:
            try:
                out.append(_string(item))
            except Coerced as c:
                out.append(c.args[0])
                changed = True
        if changed:
            raise Coerced(out, "list items made valid text")
        return out
    raise Coerced(None, f"{type(value).__name__} is not a list of text")


def coerce(value: Any, typ: pa.DataType) -> Any:
    """``value`` if it fits ``typ``; raises :class:`Coerced` with the fitted value otherwise."""
    if value is None:
        return None
    if pa.types.is_string(typ):
        return _string(value)
    if pa.types.is_integer(typ):
        return _integer(value, typ)
    if pa.types.is_floating(typ):
        return _floating(value)
    if pa.types.is_boolean(typ):
        return _boolean(value)
    if pa.types.is_list(typ):
        return _strings(value)
    raise Coerced(None, f"no coercion to {typ}")  # pragma: no cover - schema types only


def column(
    values: Sequence[Any], typ: pa.DataType, name: str, notes: list[tuple[int, str, str]]
) -> pa.Array:
    """One column as ``typ``; values that do not fit are coerced and noted."""
    try:
        array = pa.array(values, type=typ)
    except Exception:  # any refusal: rebuild value by value
        fixed = []
        for i, value in enumerate(values):
            try:
                fixed.append(coerce(value, typ))
            except Coerced as c:
                fixed.append(c.args[0])
                notes.append((i, name, c.args[1]))
        array = pa.array(fixed, type=typ)
    if pa.types.is_floating(typ) and array.null_count < len(array):
        bad = pc.fill_null(pc.invert(pc.is_finite(array)), False)
        if pc.any(bad).as_py():
            for i in pc.indices_nonzero(bad).to_pylist():
                notes.append((i, name, "not a finite number"))
            array = pc.if_else(bad, pa.scalar(None, typ), array)
    return array
