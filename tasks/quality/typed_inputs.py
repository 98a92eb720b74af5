"""Typed inputs for differential tests, from the entry point's annotations.

Used when the visible tests show no literal call (HumanEval's ``decode_cyclic``
tests build their inputs at random). Values are small: ints in [0, 20], floats in
[0, 10], strings of 1 to 8 lower-case letters, containers of 1 to 5 items. A
parameter without a usable annotation means no typed inputs for that function.
"""

from __future__ import annotations

import ast
import string
from collections.abc import Callable
from typing import Any

_SIMPLE: dict[str, Callable[[Any], Any]] = {
    "int": lambda rng: rng.randint(0, 20),
    "float": lambda rng: round(rng.uniform(0, 10), 2),
    "str": lambda rng: "".join(rng.choices(string.ascii_lowercase, k=rng.randint(1, 8))),
    "bool": lambda rng: rng.random() < 0.5,
}
_CONTAINERS = {"list": list, "List": list, "tuple": tuple, "Tuple": tuple, "set": set, "Set": set}


def typed_arguments(reference: str, entry_point: str, rng: Any, n: int) -> list[tuple[Any, ...]]:
    """Up to ``n`` argument tuples for ``entry_point``, built from its annotations."""
    makers = _parameter_makers(reference, entry_point)
    return [tuple(make(rng) for make in makers) for _ in range(n)] if makers else []


def _parameter_makers(reference: str, entry_point: str) -> list[Callable[[Any], Any]]:
    try:
        tree = ast.parse(reference)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == entry_point:
            args = node.args
            if args.vararg or args.kwarg or args.kwonlyargs:
                return []
            makers = [_maker(a.annotation) for a in (*args.posonlyargs, *args.args)]
            if not makers or any(m is None for m in makers):
                return []
            return [m for m in makers if m is not None]
    return []


def _maker(node: ast.expr | None) -> Callable[[Any], Any] | None:
    """A value generator for one annotation, or None when we cannot build one."""
    if isinstance(node, ast.Name):
        return _SIMPLE.get(node.id)
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        try:
            return _maker(ast.parse(node.value, mode="eval").body)
        except SyntaxError:
            return None
    if not isinstance(node, ast.Subscript) or not isinstance(node.value, ast.Name):
        return None
    outer = node.value.id
    inner = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
    if outer in ("dict", "Dict") and len(inner) == 2:
        key, value = _maker(inner[0]), _maker(inner[1])
        if key is None or value is None:
            return None
        return lambda rng: {key(rng): value(rng) for _ in range(rng.randint(1, 5))}
    make = _CONTAINERS.get(outer)
    if make is None:
        return None
    if make is tuple and len(inner) != 1 and not _is_ellipsis(inner[-1]):
        parts = [_maker(e) for e in inner]
        if any(p is None for p in parts):
            return None
        return lambda rng: tuple(p(rng) for p in parts if p is not None)
    item = _maker(inner[0])
    if item is None:
        return None
    return lambda rng: make(item(rng) for _ in range(rng.randint(1, 5)))


def _is_ellipsis(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and node.value is Ellipsis
