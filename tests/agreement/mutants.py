"""Single-operator mutants of a solution (mutmut's operators, one change per mutant)."""

from __future__ import annotations

import ast
import copy
from collections.abc import Iterator

_SWAPS: dict[type, type] = {
    ast.Lt: ast.LtE,
    ast.LtE: ast.Lt,
    ast.Gt: ast.GtE,
    ast.GtE: ast.Gt,
    ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq,
    ast.In: ast.NotIn,
    ast.NotIn: ast.In,
    ast.Is: ast.IsNot,
    ast.IsNot: ast.Is,
    ast.Add: ast.Sub,
    ast.Sub: ast.Add,
    ast.Mult: ast.FloorDiv,
    ast.FloorDiv: ast.Mult,
    ast.Div: ast.Mult,
    ast.Mod: ast.FloorDiv,
    ast.And: ast.Or,
    ast.Or: ast.And,
}


def mutants(source: str, first_line: int = 1) -> Iterator[str]:
    """Every single-operator mutant of ``source``, touching only lines >= ``first_line``."""
    tree = ast.parse(source)
    sites = [
        (i, node)
        for i, node in enumerate(ast.walk(tree))
        if getattr(node, "lineno", first_line) >= first_line and _changes(node)
    ]
    for index, node in sites:
        for variant in range(len(_changes(node))):
            mutated = copy.deepcopy(tree)
            target = next(n for i, n in enumerate(ast.walk(mutated)) if i == index)
            _changes(target)[variant]()
            try:
                yield ast.unparse(mutated) + "\n"
            except (ValueError, TypeError):
                continue


def _changes(node: ast.AST) -> list:
    """Functions that each apply one mutation to ``node`` in place."""
    out = []
    if isinstance(node, ast.Compare):
        for k, op in enumerate(node.ops):
            if type(op) in _SWAPS:
                out.append(lambda k=k, op=op: node.ops.__setitem__(k, _SWAPS[type(op)]()))
    elif isinstance(node, ast.BinOp | ast.AugAssign | ast.BoolOp) and type(node.op) in _SWAPS:
        out.append(lambda: setattr(node, "op", _SWAPS[type(node.op)]()))
    elif isinstance(node, ast.Constant) and type(node.value) is int:
        out.append(lambda: setattr(node, "value", node.value + 1))
        if node.value:
            out.append(lambda: setattr(node, "value", node.value - 1))
    elif isinstance(node, ast.Constant) and type(node.value) is bool:
        out.append(lambda: setattr(node, "value", not node.value))
    return out
