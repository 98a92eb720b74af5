"""Differential testing: new inputs derived from the visible tests (EvalPlus's idea).

A task's tests call the function under test with literal arguments, under its own
name (``assert add(1, 2) == 3``, MBPP style) or under a parameter's name
(``candidate(...)`` inside HumanEval's ``check(candidate)``, reached through
``check(add)``). We mutate those arguments by type, recombine arguments of different
visible calls, and, where the signature gives types, add typed inputs
(``tasks.quality.typed_inputs``). The sandbox runs the reference and the candidate
on the new calls (``Job.extra_calls``); ``compare`` matches the ``repr`` of what
came back. A solution that memorised the visible inputs fails here.

Inputs stay inside what the visible tests show (a precondition the prompt states in
words is usually visible there): an argument keeps its type, its sign, its alphabet,
its sortedness and distinctness, and is empty only if some visible one is empty.
Values stay small, so a correct but naive solution is not punished for a timeout
the task never asked about. Inputs on which the reference raises are dropped.
"""

from __future__ import annotations

import ast
import math
import random
import re
from collections.abc import Iterator, Sequence
from typing import Any

from tasks.quality.mutate import fits, memo, mutate
from tasks.quality.typed_inputs import typed_arguments

Call = tuple[str, tuple[Any, ...], tuple[tuple[str, Any], ...]]
# A suite may declare its own extra inputs (EvalPlus's plus_input) in the test module:
# ``EXTRA_INPUTS = [[arg, ...], ...]`` and ``EXTRA_ATOL = 1e-6``; at most this many are used.
MAX_DECLARED = 200
_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+>")


def derive_calls(
    tests: str,
    entry_point: str | None,
    max_calls: int = 60,
    seed: int = 0,
    *,
    reference: str | None = None,
) -> tuple[str, ...]:
    """New call expressions for the function under test, e.g. ``("add(3, -2)",)``.

    Args:
        tests: the task's pytest source.
        entry_point: the function under test; when None, every lower-case name the
            tests import ``from solution`` (class names are skipped).
        max_calls: at most this many calls are returned.
        seed: the same seed always gives the same calls.
        reference: the reference solution's source; its signature's annotations give
            typed inputs when the tests show no literal call.

    Returns:
        Deduplicated expressions, none equal to a call the tests already make.
    """
    with memo():
        return _derive_calls(tests, entry_point, max_calls, seed, reference)


def _derive_calls(
    tests: str, entry_point: str | None, max_calls: int, seed: int, reference: str | None
) -> tuple[str, ...]:
    """``derive_calls`` inside its memo (see ``tasks.quality.mutate.memo``)."""
    try:
        tree = ast.parse(tests)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return ()
    declared = _declared(tree, "EXTRA_INPUTS")
    if isinstance(declared, list) and entry_point:
        calls = [(entry_point, tuple(a), ()) for a in declared if isinstance(a, list | tuple)]
        return tuple(dict.fromkeys(_render(c) for c in calls if _renderable(c[1])))[:MAX_DECLARED]
    if entry_point and reference and _is_class(reference, entry_point):
        return ()  # a constructor returns an object: nothing plain to compare
    visible = _visible_calls(tree, entry_point)
    seen = {_render(c) for c in visible}
    rng = random.Random(seed)
    hints = _constants(reference) if reference else ()
    streams: list[Iterator[Call]] = [_mutants(c, visible, rng, hints) for c in visible]
    streams.append(_crossovers(visible, rng))
    streams.append(_equal_arguments(visible))
    out: list[str] = []
    _round_robin(streams, seen, out, max_calls)
    if not visible and reference and entry_point:
        for args in typed_arguments(reference, entry_point, rng, 3 * max_calls):
            text = _render((entry_point, args, ()))
            if text not in seen and len(out) < max_calls:
                seen.add(text)
                out.append(text)
    return tuple(out)


def _is_class(reference: str, name: str) -> bool:
    try:
        tree = ast.parse(reference)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return any(isinstance(n, ast.ClassDef) and n.name == name for n in tree.body)


def _round_robin(streams: list[Iterator[Call]], seen: set[str], out: list[str], cap: int) -> None:
    # Every visible call contributes before any contributes twice.
    while streams and len(out) < cap:
        for stream in list(streams):
            for call in stream:
                text = _render(call)
                if text not in seen:
                    seen.add(text)
                    out.append(text)
                    break
            else:
                streams.remove(stream)
            if len(out) >= cap:
                break


def declared_atol(tests: str) -> float:
    """The absolute tolerance a test module declares (``EXTRA_ATOL = ...``), else 0."""
    try:
        value = _declared(ast.parse(tests), "EXTRA_ATOL")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return 0.0
    return float(value) if type(value) in (int, float) and value >= 0 else 0.0


def _declared(tree: ast.Module, name: str) -> Any:
    for node in tree.body:
        if (
            isinstance(node, ast.Assign)
            and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name)
            and node.targets[0].id == name
        ):
            try:
                return ast.literal_eval(node.value)
            except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
                return None
    return None


def compare(
    reference_outputs: Sequence[str], candidate_outputs: Sequence[str], *, atol: float = 0.0
) -> tuple[int, int]:
    """``(passed, total)`` over the calls whose reference did not raise.

    A reference output starting with ``!`` (an exception type) marks an invalid input
    and is dropped, as is one that shows a memory address (``<User object at 0x...>``
    differs between any two processes). A missing candidate output (the run stopped
    early) is a failure. Floats match within a relative 1e-6 or the absolute ``atol``.
    """
    passed = total = 0
    for i, ref in enumerate(reference_outputs):
        if ref.startswith("!") or _ADDRESS.search(ref):
            continue  # an invalid input, or an object whose repr is its address
        total += 1
        cand = candidate_outputs[i] if i < len(candidate_outputs) else None
        if cand is not None and (cand == ref or _same_literal(ref, cand, atol)):
            passed += 1
    return passed, total


# -- finding the visible calls ---------------------------------------------------------


def _visible_calls(tree: ast.Module, entry_point: str | None) -> list[Call]:
    names: dict[str, str] = {}  # name used in the tests -> name in the solution
    modules: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "solution":
            for alias in node.names:
                if alias.name != "*":
                    names[alias.asname or alias.name] = alias.name
        elif isinstance(node, ast.Import):
            modules.update(a.asname or a.name for a in node.names if a.name == "solution")
    if entry_point:
        names = {k: v for k, v in names.items() if v == entry_point}
        names.setdefault(entry_point, entry_point)
    # Without an entry point, capitalised names are taken for classes and skipped.
    wanted = names if entry_point else {k: v for k, v in names.items() if not v[:1].isupper()}
    wanted.update(_parameter_aliases(tree, wanted))
    calls: list[Call] = []
    seen: set[str] = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        target = _target(node.func, wanted, modules)
        if target is None or (entry_point and target != entry_point):
            continue
        call = _literal_call(target, node)
        if call is not None and _render(call) not in seen:
            seen.add(_render(call))
            calls.append(call)
    return calls


def _parameter_aliases(tree: ast.Module, names: dict[str, str]) -> dict[str, str]:
    """``candidate -> f`` when the tests call ``check(f)`` and ``check`` takes ``candidate``."""
    functions = {
        node.name: node
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    }
    aliases: dict[str, str] = {}
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
            continue
        fn = functions.get(node.func.id)
        if fn is None:
            continue
        params = [a.arg for a in (*fn.args.posonlyargs, *fn.args.args)]
        for i, arg in enumerate(node.args):
            if isinstance(arg, ast.Name) and arg.id in names and i < len(params):
                aliases[params[i]] = names[arg.id]
        for kw in node.keywords:
            if isinstance(kw.value, ast.Name) and kw.value.id in names and kw.arg:
                aliases[kw.arg] = names[kw.value.id]
    return {k: v for k, v in aliases.items() if k not in names}


def _target(func: ast.expr, names: dict[str, str], modules: set[str]) -> str | None:
    if isinstance(func, ast.Name) and func.id in names:
        return names[func.id]
    if (
        isinstance(func, ast.Attribute)
        and isinstance(func.value, ast.Name)
        and func.value.id in modules
        and not func.attr[:1].isupper()
    ):
        return func.attr
    return None


def _literal_call(name: str, node: ast.Call) -> Call | None:
    try:
        args = tuple(ast.literal_eval(a) for a in node.args if not isinstance(a, ast.Starred))
        kwargs = tuple((k.arg, ast.literal_eval(k.value)) for k in node.keywords if k.arg)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return None
    if len(args) != len(node.args) or len(kwargs) != len(node.keywords):
        return None  # *args / **kwargs we cannot see through
    return name, args, kwargs


# -- new calls -------------------------------------------------------------------------


def _slot_values(visible: list[Call], call: Call, kind: str, i: int) -> list[Any]:
    """Every visible value of one argument slot (position, or keyword name)."""
    if kind == "a":
        return [c[1][i] for c in visible if len(c[1]) == len(call[1])]
    key = call[2][i][0]
    return [v for c in visible for k, v in c[2] if k == key]


def _mutants(
    call: Call, visible: list[Call], rng: random.Random, hints: tuple[int | float, ...]
) -> Iterator[Call]:
    """Calls that differ from ``call`` in one argument, slots in shuffled order."""
    _, args, kwargs = call
    slots: list[tuple[str, int]] = [("a", i) for i in range(len(args))]
    slots += [("k", i) for i in range(len(kwargs))]
    per_slot = [_slot_mutants(call, kind, i, visible, rng, hints) for kind, i in slots]
    rng.shuffle(per_slot)
    while per_slot:
        for stream in list(per_slot):
            item = next(stream, None)
            if item is None:
                per_slot.remove(stream)
            else:
                yield item


def _slot_mutants(
    call: Call,
    kind: str,
    i: int,
    visible: list[Call],
    rng: random.Random,
    hints: tuple[int | float, ...],
) -> Iterator[Call]:
    name, args, kwargs = call
    seen = _slot_values(visible, call, kind, i)
    value = args[i] if kind == "a" else kwargs[i][1]
    for v in mutate(value, seen, rng, hints):
        if not _renderable(v):
            continue
        if kind == "a":
            yield name, (*args[:i], v, *args[i + 1 :]), kwargs
        else:
            yield name, args, (*kwargs[:i], (kwargs[i][0], v), *kwargs[i + 1 :])


def _crossovers(visible: list[Call], rng: random.Random) -> Iterator[Call]:
    """Arguments of different visible calls combined (each one a value the tests use)."""
    by_arity: dict[tuple[int, tuple[str, ...]], list[Call]] = {}
    for call in visible:
        by_arity.setdefault((len(call[1]), tuple(k for k, _ in call[2])), []).append(call)
    pairs = [(a, b) for group in by_arity.values() for a in group for b in group if a is not b]
    rng.shuffle(pairs)
    for (name, args_a, kw_a), (_, args_b, kw_b) in pairs[:200]:
        picks = [rng.random() < 0.5 for _ in range(len(args_a) + len(kw_a))]
        args = tuple(b if p else a for a, b, p in zip(args_a, args_b, picks, strict=False))
        kw_picks = picks[len(args_a) :]
        kwargs = tuple(b if p else a for a, b, p in zip(kw_a, kw_b, kw_picks, strict=False))
        yield name, args, kwargs


def _equal_arguments(visible: list[Call]) -> Iterator[Call]:
    """Two arguments of the same type made equal (boundaries such as ``need == remaining``)."""
    for call in visible:
        name, args, kwargs = call
        for i, a in enumerate(args):
            slot = _slot_values(visible, call, "a", i)
            for j, b in enumerate(args):
                if i != j and type(a) is type(b) and a != b and fits(b, slot):
                    yield name, (*args[:i], b, *args[i + 1 :]), kwargs


def _constants(reference: str) -> tuple[int | float, ...]:
    """The reference's numeric constants (its boundaries), at most 16 of them."""
    try:
        tree = ast.parse(reference)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return ()
    found: dict[int | float, None] = {}
    for node in ast.walk(tree):
        value = getattr(node, "value", None) if isinstance(node, ast.Constant) else None
        if isinstance(value, int | float) and not isinstance(value, bool) and abs(value) < 10**6:
            found[value] = None
    return tuple(found)[:16]


# -- rendering and comparing -----------------------------------------------------------


def _literal(value: Any) -> str:
    """``repr`` that is stable across processes (sets sorted) and parses back."""
    if isinstance(value, set | frozenset):
        if not value:
            return "set()" if isinstance(value, set) else "frozenset()"
        body = "{" + ", ".join(sorted(_literal(x) for x in value)) + "}"
        return body if isinstance(value, set) else f"frozenset({body})"
    if isinstance(value, list):
        return "[" + ", ".join(_literal(x) for x in value) + "]"
    if isinstance(value, tuple):
        inner = ", ".join(_literal(x) for x in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_literal(k)}: {_literal(x)}" for k, x in value.items()) + "}"
    return repr(value)


def _renderable(value: Any) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, list | tuple | set | frozenset):
        return all(_renderable(x) for x in value)
    if isinstance(value, dict):
        return all(_renderable(k) and _renderable(x) for k, x in value.items())
    return True


def _render(call: Call) -> str:
    name, args, kwargs = call
    parts = [_literal(a) for a in args] + [f"{k}={_literal(v)}" for k, v in kwargs]
    return f"{name}({', '.join(parts)})"


def _same_literal(ref: str, cand: str, atol: float = 0.0) -> bool:
    try:
        a, b = ast.literal_eval(ref), ast.literal_eval(cand)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False
    return _close(a, b, max(atol, 1e-9))


def _close(a: Any, b: Any, atol: float = 1e-9) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        if isinstance(a, bool) or isinstance(b, bool):
            return False
        if not isinstance(a, int | float) or not isinstance(b, int | float):
            return False
        if math.isnan(a) and math.isnan(b):
            return True
        return math.isclose(a, b, rel_tol=1e-6, abs_tol=atol)
    if type(a) is not type(b):
        return False
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(_close(x, y, atol) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_close(a[k], b[k], atol) for k in a)
    return bool(a == b)
