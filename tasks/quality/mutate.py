"""Argument mutation for differential tests, kept inside what the visible tests show.

``mutate(value, seen, rng)`` proposes values near ``value``; ``fits(v, seen)`` keeps
those that look like the visible values of the same argument (``seen``): the same
type, the same sign, characters from the same alphabet, sorted or distinct elements
when every visible one is, empty only when a visible one is empty, the length of a
tuple when every visible one has that length (a record such as an interval), and
sizes near the visible ones. A prompt's stated precondition ("a positive integer",
"a sorted list", "a string of lowercase letters") is usually visible in its tests
this way. Text mutations live in ``tasks.quality.mutate_text``.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterator, Sequence
from itertools import zip_longest
from typing import Any

from tasks.quality.mutate_text import text_mutants


class _Rng:
    """The caller's random source plus the numeric hints, passed down to the mutators."""

    def __init__(self, rng: Any, hints: Sequence[int | float]):
        self.rng, self.hints = rng, tuple(hints)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.rng, name)


def mutate(value: Any, seen: list[Any], rng: Any, hints: Sequence[int | float] = ()) -> list[Any]:
    """Values near ``value`` that fit ``seen``, without ``value`` itself.

    ``hints`` are numbers worth trying (the reference's constants: its boundaries).
    Edge cases (0, 1, empty, a single element, a boundary constant, ...) alternate
    with the other mutations, each kind shuffled, so that the first few values taken
    under ``max_calls`` include both.
    """
    for kind, fn in _MUTATORS:
        if isinstance(value, kind):
            edges, others = fn(value, seen, _Rng(rng, hints))
            tiers = [_kept(edges, value, seen), _kept(others, value, seen)]
            for tier in tiers:
                rng.shuffle(tier)
            merged = [v for pair in zip_longest(*tiers, fillvalue=_NONE) for v in pair]
            unique = {repr(v): v for v in merged if v is not _NONE}
            return list(unique.values())
    return []


_NONE = object()


def _kept(values: list[Any], value: Any, seen: list[Any]) -> list[Any]:
    kept = [v for v in values if (v != value or type(v) is not type(value)) and fits(v, seen)]
    return list({repr(v): v for v in kept}.values())


# While ``memo()`` is open: per visible list and type, the values of that type (the lists
# are kept alive here, so their ids stay theirs). Deriving a task's inputs asks ``fits``
# about the same few lists tens of thousands of times.
_MEMO: dict[tuple[int, type], tuple[list[Any], list[Any]]] | None = None


@contextlib.contextmanager
def memo() -> Iterator[None]:
    global _MEMO
    outer, _MEMO = _MEMO, {} if _MEMO is None else _MEMO
    try:
        yield
    finally:
        _MEMO = outer


def _of_type(seen: list[Any], kind: type) -> list[Any]:
    if _MEMO is None:
        return [s for s in seen if type(s) is kind]
    key = (id(seen), kind)
    found = _MEMO.get(key)
    if found is None or found[0] is not seen:
        found = _MEMO[key] = (seen, [s for s in seen if type(s) is kind])
    return found[1]


def _flat(same: list[Any]) -> list[Any]:
    """The elements of every visible sequence or set (one list per ``same`` while memoised)."""
    if _MEMO is None:
        return [x for s in same for x in s]
    key = (id(same), list)
    found = _MEMO.get(key)
    if found is None or found[0] is not same:
        found = _MEMO[key] = (same, [x for s in same for x in s])
    return found[1]


def fits(value: Any, seen: list[Any]) -> bool:
    """Whether ``value`` looks like the visible values ``seen`` of the same argument."""
    same = _of_type(seen, type(value))
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
        pool = _flat(same)
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
    if isinstance(value, tuple) and len({len(s) for s in same}) == 1 and len(value) != len(same[0]):
        return False  # a record (an interval, a point): its length is fixed
    items = list(value)
    pool = _flat(same)
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


Tiers = tuple[list[Any], list[Any]]  # (edge cases, other mutations)


def _ints(v: int, seen: list[Any], rng: Any) -> Tiers:
    ints = [s for s in seen if type(s) is int] or [v]
    lo, hi = min(ints), max(ints)
    edges = [v + 1, v - 1, 0, 1, -1, lo, lo + 1, lo + 2, lo + 3, hi, lo - 1, hi + 1]
    edges += [h for h in rng.hints if type(h) is int]
    others = [-v, v + rng.randint(2, 5), *(rng.randint(lo, hi) for _ in range(3))]
    others += [h + d for h in rng.hints if type(h) is int for d in (-1, 1)]
    if abs(v) <= 10:
        others.append(v * 2)
    return edges, others


def _floats(v: float, seen: list[Any], rng: Any) -> Tiers:
    edges = [0.0, 1.0, float(int(v)), *(float(h) for h in rng.hints)]
    others = [v + 0.5, v - 0.5, -v, v * 2, round(v + rng.uniform(-3, 3), 2)]
    others += [float(h) + d for h in rng.hints for d in (-0.1, 0.1)]
    return edges, others


def _seqs(v: list[Any] | tuple[Any, ...], seen: list[Any], rng: Any) -> Tiers:
    make: Callable[[list[Any]], Any] = type(v)
    items = list(v)
    edges = [make([]), make(items[::-1]), make(items + items[:1]), make(items[:1])]
    edges += [make(items[-1:]), make(items[1:] + items[:1]), make(items[-1:] + items[:-1])]
    others = [make(items[1:]), make(items[:-1])]
    with contextlib.suppress(TypeError):  # mixed types do not sort
        edges.append(make(sorted(items)))
        others.append(make(sorted(items, reverse=True)))
    if items:
        pool = [x for s in seen if isinstance(s, list | tuple) for x in s] or items
        # The reference's constants side by side (a list of grades at each boundary).
        numbers = [h for h in rng.hints if any(type(x) is type(h) for x in pool)]
        edges += [make(numbers[k : k + len(items)]) for k in range(0, len(numbers), len(items))]
        for _ in range(3):
            i = rng.randrange(len(items))
            for m in mutate(items[i], pool, rng.rng, rng.hints)[:2]:
                others.append(make([*items[:i], m, *items[i + 1 :]]))
        others.append(make([*items, rng.choice(pool)]))
        # Rotations bring another pair to the front; a swap breaks one pattern.
        others += [make(items[k:] + items[:k]) for k in range(2, min(len(items) - 1, 7))]
        k = rng.randrange(len(items))
        j = rng.randrange(len(items))
        swapped = items[:]
        swapped[k], swapped[j] = swapped[j], swapped[k]
        others.append(make(swapped))
        shuffled = items[:]
        rng.shuffle(shuffled)
        others.append(make(shuffled))
        # Element-wise sorted/distinct rules still hold after inserting in order.
        with contextlib.suppress(TypeError):
            others.append(make(sorted({*items, rng.choice(pool)})))
    return edges, others


def _dicts(v: dict[Any, Any], seen: list[Any], rng: Any) -> Tiers:
    edges: list[Any] = [{}]
    others: list[Any] = []
    if v:
        keys = list(v)
        edges.append({keys[0]: v[keys[0]]})
        others.append({k: v[k] for k in keys[1:]})
        k = keys[rng.randrange(len(keys))]
        values = [x for s in seen if isinstance(s, dict) for x in s.values()]
        others.extend({**v, k: m} for m in mutate(v[k], values, rng.rng, rng.hints)[:2])
    return edges, others


def _sets(v: set[Any] | frozenset[Any], seen: list[Any], rng: Any) -> Tiers:
    items = sorted(v, key=repr)
    return [type(v)(), type(v)(items[:1])], [type(v)(items[1:]), type(v)(items[:-1])]


def _bools(v: bool, seen: list[Any], rng: Any) -> Tiers:
    return [not v], []


# bool before int: True is an int too.
_MUTATORS: list[tuple[Any, Callable[[Any, list[Any], Any], Tiers]]] = [
    (bool, _bools),
    (int, _ints),
    (float, _floats),
    (str, text_mutants),
    ((list, tuple), _seqs),
    (dict, _dicts),
    ((set, frozenset), _sets),
]
