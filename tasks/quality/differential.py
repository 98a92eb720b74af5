"""Differential testing: new inputs derived from the visible tests (EvalPlus's idea).

A task's tests call the function under test with literal arguments. We mutate those
arguments by type (ints +-1, 0, negated; strings emptied, reversed, doubled, case
swapped; lists emptied, reversed, extended, sorted; ...), run the task's reference and
the candidate on the new calls in the sandbox (``Job.extra_calls``), and compare the
``repr`` of what came back. A solution that memorised the visible inputs fails here.

Mutations stay small (no ``n * 1000``) so a correct but naive solution, such as an
exponential Fibonacci, is not punished for a timeout the task never asked about.
"""

from __future__ import annotations

import ast
import contextlib
import math
import random
import re
from collections.abc import Callable, Iterator, Sequence
from typing import Any

Call = tuple[str, tuple[Any, ...], tuple[tuple[str, Any], ...]]


def derive_calls(
    tests: str, entry_point: str | None, max_calls: int = 20, seed: int = 0
) -> tuple[str, ...]:
    """New call expressions for the function under test, e.g. ``("add(3, -2)",)``.

    Args:
        tests: the task's pytest source.
        entry_point: the function under test; when None, every lower-case name the
            tests import ``from solution`` (class names are skipped).
        max_calls: at most this many calls are returned.
        seed: the same seed always gives the same calls.

    Returns:
        Deduplicated expressions, none equal to a call the tests already make.
    """
    try:
        tree = ast.parse(tests)
    except (SyntaxError, ValueError, RecursionError):
        return ()
    visible = _visible_calls(tree, entry_point)
    seen = {_render(c) for c in visible}
    rng = random.Random(seed)
    streams = [_mutants(call, rng) for call in visible]
    out: list[str] = []
    # Round-robin over the visible calls so every one of them contributes.
    while streams and len(out) < max_calls:
        for stream in list(streams):
            for mutant in stream:
                text = _render(mutant)
                if text not in seen:
                    seen.add(text)
                    out.append(text)
                    break
            else:
                streams.remove(stream)
            if len(out) >= max_calls:
                break
    return tuple(out)


def compare(reference_outputs: Sequence[str], candidate_outputs: Sequence[str]) -> tuple[int, int]:
    """``(passed, total)`` over the calls whose reference did not raise.

    A reference output starting with ``!`` (an exception type) marks an invalid input
    and is dropped. A missing candidate output (the run stopped early) is a failure.
    """
    passed = total = 0
    for i, ref in enumerate(reference_outputs):
        if ref.startswith("!"):
            continue
        total += 1
        cand = candidate_outputs[i] if i < len(candidate_outputs) else None
        if cand is not None and (cand == ref or _same_literal(ref, cand)):
            passed += 1
    return passed, total


# -- finding the visible calls ---------------------------------------------------------


def _visible_calls(tree: ast.Module, entry_point: str | None) -> list[Call]:
    names: dict[str, str] = {}  # name used in the tests -> name in the solution
    modules: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "solution":
            for alias in node.names:
                names[alias.asname or alias.name] = alias.name
        elif isinstance(node, ast.Import):
            modules.update(a.asname or a.name for a in node.names if a.name == "solution")
    if entry_point:
        names = {k: v for k, v in names.items() if v == entry_point} or {entry_point: entry_point}
    wanted = {k: v for k, v in names.items() if not v[:1].isupper()}
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


# -- mutation --------------------------------------------------------------------------


def _mutants(call: Call, rng: random.Random) -> Iterator[Call]:
    """Calls that differ from ``call`` in one argument, positions in shuffled order."""
    _, args, kwargs = call
    slots: list[tuple[str, int]] = [("a", i) for i in range(len(args))]
    slots += [("k", i) for i in range(len(kwargs))]
    per_slot = [_slot_mutants(call, kind, i, rng) for kind, i in slots]
    rng.shuffle(per_slot)
    while per_slot:
        for stream in list(per_slot):
            item = next(stream, None)
            if item is None:
                per_slot.remove(stream)
            else:
                yield item


def _slot_mutants(call: Call, kind: str, i: int, rng: random.Random) -> Iterator[Call]:
    name, args, kwargs = call
    if kind == "a":
        for v in _mutate(args[i], rng):
            yield name, (*args[:i], v, *args[i + 1 :]), kwargs
    else:
        key, value = kwargs[i]
        for v in _mutate(value, rng):
            yield name, args, (*kwargs[:i], (key, v), *kwargs[i + 1 :])


def _mutate(value: Any, rng: random.Random) -> list[Any]:
    for kind, fn in _MUTATORS:
        if isinstance(value, kind):
            out = [v for v in fn(value, rng) if v != value or type(v) is not type(value)]
            out = [v for v in out if _renderable(v)]
            rng.shuffle(out)  # every kind of mutation gets a chance under max_calls
            return out
    return []


def _ints(v: int, rng: random.Random) -> list[Any]:
    out = [v + 1, v - 1, 0, -v, v + rng.randint(2, 5)]
    if abs(v) <= 10:
        out.append(v * 2)
    return out


def _floats(v: float, rng: random.Random) -> list[Any]:
    return [v + 0.5, -v, 0.0, v * 2, round(v + rng.uniform(-3, 3), 2)]


def _strs(v: str, rng: random.Random) -> list[Any]:
    out = ["", v[::-1], v + v, v.swapcase(), v[:1], f" {v} "]
    # Numbers inside text ("1h30m", "10.0.0.1") keep the format valid when bumped.
    out.append(re.sub(r"[0-9]+", lambda m: str(int(m.group()) + 1), v))
    out.append(re.sub(r"[0-9]+", lambda m: str(rng.randint(0, 2 * int(m.group()) + 1)), v))
    if v:
        out.append(v[: rng.randrange(len(v))])
        chars = list(v)
        rng.shuffle(chars)
        out.append("".join(chars))
    return out


def _seqs(v: list[Any] | tuple[Any, ...], rng: random.Random) -> list[Any]:
    make: Callable[[list[Any]], Any] = type(v)
    items = list(v)
    out = [make([]), make(items[::-1]), make(items + items[:1]), make(items[1:])]
    with contextlib.suppress(TypeError):  # mixed types do not sort
        out.append(make(sorted(items)))
    if items:
        i = rng.randrange(len(items))
        for m in _mutate(items[i], rng)[:2]:
            out.append(make([*items[:i], m, *items[i + 1 :]]))
        out.append(make([*items, items[rng.randrange(len(items))]]))
    return out


def _dicts(v: dict[Any, Any], rng: random.Random) -> list[Any]:
    out: list[Any] = [{}]
    if v:
        keys = list(v)
        out.append({k: v[k] for k in keys[1:]})
        k = keys[rng.randrange(len(keys))]
        out.extend({**v, k: m} for m in _mutate(v[k], rng)[:2])
    return out


def _sets(v: set[Any] | frozenset[Any], rng: random.Random) -> list[Any]:
    items = sorted(v, key=repr)
    return [type(v)(), type(v)(items[1:])]


def _bools(v: bool, rng: random.Random) -> list[Any]:
    return [not v]


# bool before int: True is an int too.
_MUTATORS: list[tuple[Any, Callable[[Any, random.Random], list[Any]]]] = [
    (bool, _bools),
    (int, _ints),
    (float, _floats),
    (str, _strs),
    ((list, tuple), _seqs),
    (dict, _dicts),
    ((set, frozenset), _sets),
]


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
    return True


def _render(call: Call) -> str:
    name, args, kwargs = call
    parts = [_literal(a) for a in args] + [f"{k}={_literal(v)}" for k, v in kwargs]
    return f"{name}({', '.join(parts)})"


def _same_literal(ref: str, cand: str) -> bool:
    try:
        a, b = ast.literal_eval(ref), ast.literal_eval(cand)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False
    return _close(a, b)


def _close(a: Any, b: Any) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        if isinstance(a, bool) or isinstance(b, bool):
            return False
        if not isinstance(a, int | float) or not isinstance(b, int | float):
            return False
        if math.isnan(a) and math.isnan(b):
            return True
        return math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-9)
    if type(a) is not type(b):
        return False
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(_close(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_close(a[k], b[k]) for k in a)
    return bool(a == b)
