"""Argument mutation for differential tests, kept inside what the visible tests show.

``mutate(value, seen, rng)`` proposes values near ``value``; ``fits(v, seen)`` keeps
those that look like the visible values of the same argument (``seen``): the same
type, the same sign, characters from the same alphabet, sorted or distinct elements
when every visible one is, empty only when a visible one is empty, and sizes near
the visible ones. A prompt's stated precondition ("a positive integer", "a sorted
list", "a string of lowercase letters") is usually visible in its tests this way.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Sequence
from typing import Any


class _Rng:
    """The caller's random source plus the numeric hints, passed down to the mutators."""

    def __init__(self, rng: Any, hints: Sequence[int | float]):
        self.rng, self.hints = rng, tuple(hints)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.rng, name)


def mutate(value: Any, seen: list[Any], rng: Any, hints: Sequence[int | float] = ()) -> list[Any]:
    """Values near ``value`` that fit ``seen``, shuffled, without ``value`` itself.

    ``hints`` are numbers worth trying (the reference's constants: its boundaries).
    """
    for kind, fn in _MUTATORS:
        if isinstance(value, kind):
            out = fn(value, seen, _Rng(rng, hints))
            out = [v for v in out if v != value or type(v) is not type(value)]
            out = [v for v in out if fits(v, seen)]
            unique: dict[str, Any] = {repr(v): v for v in out}
            out = list(unique.values())
            rng.shuffle(out)  # every kind of mutation gets a chance under max_calls
            return out
    return []


def fits(value: Any, seen: list[Any]) -> bool:
    """Whether ``value`` looks like the visible values ``seen`` of the same argument."""
    same = [s for s in seen if type(s) is type(value)]
    if not same:
        return not seen
    if isinstance(value, bool) or value is None:
        return True
    if isinstance(value, int | float):
        return _number_fits(value, same)
    if isinstance(value, str):
        return _str_fits(value, same)
    if isinstance(value, list | tuple):
        return _seq_fits(value, same)
    if isinstance(value, set | frozenset):
        pool = [x for s in same for x in s]
        return (bool(value) or any(not s for s in same)) and all(fits(x, pool) for x in value)
    if isinstance(value, dict):
        keys = [k for s in same for k in s]
        values = [x for s in same for x in s.values()]
        return (
            (bool(value) or any(not s for s in same))
            and all(fits(k, keys) for k in value)
            and all(fits(x, values) for x in value.values())
        )
    return True


def _number_fits(value: float, same: list[Any]) -> bool:
    lo, hi = min(same), max(same)
    if isinstance(value, int):
        # Never below the smallest visible non-negative int (``base=1`` loops forever in a
        # base conversion), at most one above the largest (``prime_fib(12)`` takes hours).
        return (lo if lo >= 0 else lo - 1) <= value <= hi + 1
    if lo >= 0 and value < 0:
        return False
    span = max(1.0, (hi - lo) / 2)
    return lo - span <= value <= hi + span


def _str_fits(value: str, same: list[str]) -> bool:
    if not value:
        return any(not s for s in same)
    alphabet = set("".join(same))
    if not set(value) <= alphabet or len(value) > 2 * max(len(s) for s in same) + 2:
        return False
    # Structure every visible string shares: balanced brackets, one skeleton around numbers.
    for pair in _PAIRS:
        kept = set(pair) & alphabet and all(_balanced(s, pair) for s in same)
        if kept and not _balanced(value, pair):
            return False
    skeletons = {_skeleton(s) for s in same if s}
    if len(same) >= 2 and len(skeletons) == 1 and any(c.isdigit() for c in "".join(same)):
        return _skeleton(value) in skeletons
    return True


_PAIRS = ("()", "[]", "{}", "<>")


def _balanced(text: str, pair: str) -> bool:
    depth = 0
    for ch in text:
        depth += (ch == pair[0]) - (ch == pair[1])
        if depth < 0:
            return False
    return depth == 0


def _skeleton(text: str) -> str:
    return re.sub(r"[0-9]+", "#", text)


def _seq_fits(value: Any, same: list[Any]) -> bool:
    if not value and not any(not s for s in same):
        return False
    if len(value) > max(len(s) for s in same) + 3:
        return False
    items = list(value)
    pool = [x for s in same for x in s]
    if not all(fits(x, pool) for x in items):
        return False
    longer = [list(s) for s in same if len(s) >= 2]
    with contextlib.suppress(TypeError):
        if longer and all(s == sorted(s) for s in longer) and items != sorted(items):
            return False
        descending = longer and all(s == sorted(s, reverse=True) for s in longer)
        if descending and items != sorted(items, reverse=True):
            return False
    with contextlib.suppress(TypeError):  # unhashable elements: no distinctness rule
        if [s for s in longer if len(s) >= 3] and all(len(set(s)) == len(s) for s in longer):
            return len(set(items)) == len(items)
    return True


def _ints(v: int, seen: list[Any], rng: Any) -> list[Any]:
    ints = [s for s in seen if type(s) is int] or [v]
    lo, hi = min(ints), max(ints)
    out = [v + 1, v - 1, 0, 1, -v, v + rng.randint(2, 5), lo, hi, lo - 1, hi + 1]
    out += [rng.randint(lo, hi) for _ in range(3)]
    out += [h + d for h in rng.hints if type(h) is int for d in (-1, 0, 1)]
    if abs(v) <= 10:
        out.append(v * 2)
    return out


def _floats(v: float, seen: list[Any], rng: Any) -> list[Any]:
    out = [v + 0.5, v - 0.5, -v, 0.0, v * 2, round(v + rng.uniform(-3, 3), 2), float(int(v))]
    out += [float(h) + d for h in rng.hints for d in (-0.1, 0.0, 0.1)]
    return out


def _strs(v: str, seen: list[Any], rng: Any) -> list[Any]:
    out = ["", v[::-1], v + v, v.swapcase(), v[:1], v[1:], v[:-1], v + v[:1], v[:1] + v]
    # Numbers inside text ("1h30m", "10.0.0.1") keep the format valid when bumped.
    out.append(re.sub(r"[0-9]+", lambda m: str(int(m.group()) + 1), v))
    out.append(re.sub(r"[0-9]+", lambda m: str(rng.randint(0, 2 * int(m.group()) + 1)), v))
    # One number at a time, to a neighbour or to one of the reference's constants.
    numbers = list(re.finditer(r"[0-9]+", v))
    if numbers:
        m = rng.choice(numbers)
        width = len(m.group())
        values = [int(m.group()) + 1, int(m.group()) - 1]
        values += [h for h in rng.hints if type(h) is int and h >= 0]
        for n in rng.sample(values, min(4, len(values))):
            if n >= 0:
                out.append(v[: m.start()] + str(n).zfill(width) + v[m.end() :])
    if v:
        chars = list(v)
        rng.shuffle(chars)
        out.append("".join(chars))
        i = rng.randrange(len(v))
        alphabet = sorted(set("".join(s for s in seen if isinstance(s, str))) or set(v))
        out.append(v[:i] + rng.choice(alphabet) + v[i + 1 :])
        out.append(v[:i] + v[i + 1 :])
        out.append(v[:i] + v[i] + v[i:])
    return out


def _seqs(v: list[Any] | tuple[Any, ...], seen: list[Any], rng: Any) -> list[Any]:
    make: Callable[[list[Any]], Any] = type(v)
    items = list(v)
    out = [make([]), make(items[::-1]), make(items + items[:1]), make(items[1:])]
    out.append(make(items[:-1]))
    with contextlib.suppress(TypeError):  # mixed types do not sort
        out.append(make(sorted(items)))
        out.append(make(sorted(items, reverse=True)))
    if items:
        pool = [x for s in seen if isinstance(s, list | tuple) for x in s] or items
        for _ in range(3):
            i = rng.randrange(len(items))
            for m in mutate(items[i], pool, rng.rng, rng.hints)[:2]:
                out.append(make([*items[:i], m, *items[i + 1 :]]))
        out.append(make([*items, rng.choice(pool)]))
        shuffled = items[:]
        rng.shuffle(shuffled)
        out.append(make(shuffled))
        # Element-wise sorted/distinct rules still hold after inserting in order.
        with contextlib.suppress(TypeError):
            out.append(make(sorted({*items, rng.choice(pool)})))
    return out


def _dicts(v: dict[Any, Any], seen: list[Any], rng: Any) -> list[Any]:
    out: list[Any] = [{}]
    if v:
        keys = list(v)
        out.append({k: v[k] for k in keys[1:]})
        k = keys[rng.randrange(len(keys))]
        values = [x for s in seen if isinstance(s, dict) for x in s.values()]
        out.extend({**v, k: m} for m in mutate(v[k], values, rng.rng, rng.hints)[:2])
    return out


def _sets(v: set[Any] | frozenset[Any], seen: list[Any], rng: Any) -> list[Any]:
    items = sorted(v, key=repr)
    return [type(v)(), type(v)(items[1:]), type(v)(items[:-1])]


def _bools(v: bool, seen: list[Any], rng: Any) -> list[Any]:
    return [not v]


# bool before int: True is an int too.
_MUTATORS: list[tuple[Any, Callable[[Any, list[Any], Any], list[Any]]]] = [
    (bool, _bools),
    (int, _ints),
    (float, _floats),
    (str, _strs),
    ((list, tuple), _seqs),
    (dict, _dicts),
    ((set, frozenset), _sets),
]
