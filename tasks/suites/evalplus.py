"""EvalPlus tasks (HumanEval+, MBPP+): visible tests whose expected values are the reference's.

EvalPlus states only inputs (``base_input``, ``plus_input``); the expected outputs are
its ground truth's. The reference never runs in a process that has seen a solution:
the checker runs it in its own sandbox job on the visible calls (``Task.base_calls``),
then writes its outputs into the one ``EXPECTED = None`` line of the test module
(:func:`fill_expected`). The plus inputs are the task's declared differential inputs
(``EXTRA_INPUTS``), compared with the reference within ``EXTRA_ATOL``.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Sequence
from typing import Any

MARKER = "EXPECTED = None  # the reference's outputs on BASE_INPUTS, written in by the checker"
MAX_PLUS_INPUTS = 200
MAX_INPUT_CHARS = 2000


def literal(value: Any) -> str:
    """Python source for a JSON value; non-finite floats as ``float('inf')`` and so on."""
    if isinstance(value, float) and not math.isfinite(value):
        return f"float({str(value)!r})"
    if isinstance(value, list):
        return "[" + ", ".join(literal(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{literal(k)}: {literal(v)}" for k, v in value.items()) + "}"
    return repr(value)


def base_calls(entry: str, base: Sequence[Sequence[Any]]) -> tuple[str, ...]:
    """The visible inputs as call expressions (``entry(1, [2])``)."""
    return tuple(f"{entry}({', '.join(literal(a) for a in args)})" for args in base)


def tests_template(
    entry: str, base: Sequence[Sequence[Any]], plus: Sequence[Sequence[Any]], atol: float
) -> str:
    """The test module, one test per visible input; ``EXPECTED`` is filled in per run."""
    extra = [lit for lit in (literal(args) for args in plus) if _extra_ok(lit)]
    lines = [
        "import copy",
        "import math",
        "",
        f"from solution import {entry}",
        "",
        f"BASE_INPUTS = [{', '.join(literal(args) for args in base)}]",
        f"EXTRA_INPUTS = [{', '.join(extra[:MAX_PLUS_INPUTS])}]",
        f"EXTRA_ATOL = {atol!r}",
        MARKER,
        "",
        "",
        "def _same(got, want):",
        "    number = isinstance(got, int | float) and not isinstance(got, bool)",
        "    if isinstance(want, float) and number:",
        "        if math.isnan(want) and math.isnan(got):",
        "            return True",
        "        return math.isclose(got, want, rel_tol=1e-6, abs_tol=max(EXTRA_ATOL, 1e-9))",
        "    if isinstance(want, list | tuple) and isinstance(got, list | tuple):",
        "        return type(got) is type(want) and len(got) == len(want) and all(",
        "            _same(g, w) for g, w in zip(got, want)",
        "        )",
        "    return got == want",
        "",
        "",
        "def _check(i):",
        "    args = copy.deepcopy(BASE_INPUTS[i])",
        f"    got = {entry}(*args)",
        '    assert _same(got, EXPECTED[i]), f"{args!r}: expected {EXPECTED[i]!r}, got {got!r}"',
    ]
    for i in range(len(base)):
        lines += ["", "", f"def test_base_{i}():", f"    _check({i})"]
    return "\n".join(lines) + "\n"


def _extra_ok(text: str) -> bool:
    return len(text) <= MAX_INPUT_CHARS and "float(" not in text


class _Finite(ast.NodeTransformer):
    """``inf``/``nan`` in a repr become ``float('inf')``/``float('nan')``; any other name or
    call (an object's repr) makes the value unwritable."""

    def visit_Name(self, node: ast.Name) -> ast.AST:
        if node.id not in ("inf", "nan"):
            raise ValueError(node.id)
        call = ast.Call(ast.Name("float", ast.Load()), [ast.Constant(node.id)], [])
        return ast.copy_location(call, node)

    def visit_Call(self, node: ast.Call) -> ast.AST:
        empty = not node.args and not node.keywords
        if isinstance(node.func, ast.Name) and node.func.id in ("set", "frozenset") and empty:
            return node
        if isinstance(node.func, ast.Name) and node.func.id == "frozenset" and len(node.args) == 1:
            node.args = [self.visit(node.args[0])]
            return node
        raise ValueError("call")


def literal_source(text: str) -> str | None:
    """A value's ``repr`` as Python source for the tests, or None if it is not data."""
    try:
        tree = ast.parse(text, mode="eval")
        for node in ast.walk(tree):
            if not isinstance(node, _ALLOWED):
                return None
        return ast.unparse(_Finite().visit(tree))
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


_ALLOWED = (
    *(ast.Expression, ast.Constant, ast.List, ast.Tuple, ast.Set, ast.Dict, ast.Load),
    *(ast.UnaryOp, ast.USub, ast.UAdd, ast.BinOp, ast.Add, ast.Sub, ast.Name, ast.Call),
)


def fill_expected(tests: str, outputs: Sequence[str]) -> tuple[str, str]:
    """(tests with ``EXPECTED`` written in, "") or (tests, why the task is broken)."""
    sources = []
    for i, out in enumerate(outputs):
        if out.startswith("!"):
            return tests, f"the task's reference raises {out[1:]} on visible input {i}"
        src = literal_source(out)
        if src is None:
            return tests, f"the task's reference returns a value that is not data on input {i}"
        sources.append(src)
    if tests.count(MARKER) != 1:
        return tests, "the EvalPlus test module has no place for the expected values"
    return tests.replace(MARKER, f"EXPECTED = [{', '.join(sources)}]"), ""
