"""String mutations for differential tests: characters, numbers inside text, words.

``text_mutants(v, seen, rng)`` returns ``(edges, others)``: edge cases (empty, one
character, one character repeated, the case swapped, a number in the text moved by
one, the words reordered) and other mutations. ``tasks.quality.mutate`` keeps those
that fit the visible strings (alphabet, balance, skeleton) and interleaves the two.
"""

from __future__ import annotations

import re
from typing import Any

_NUMBER = re.compile(r"[0-9]+")


def text_mutants(v: str, seen: list[Any], rng: Any) -> tuple[list[Any], list[Any]]:
    """Edge cases and other mutations of ``v``; ``rng.hints`` are numbers worth trying."""
    edges = ["", v[:1], v[-1:], v[:1] * 3, v.swapcase(), v[::-1], v + v[-1:]]
    others = [v + v, v[1:], v[:-1], v + v[:1], v[:1] + v]
    numbers = list(_NUMBER.finditer(v))
    edges += _numbers_moved(v, numbers, rng)
    others += _numbers_set(v, numbers, rng)
    words = v.split(" ")
    if len(words) >= 2:
        edges += _word_edges(words)
        others += _word_mutants(words, seen, rng)
    if v:
        alphabet = sorted(set("".join(s for s in seen if isinstance(s, str))) or set(v))
        chars = list(v)
        rng.shuffle(chars)
        others.append("".join(chars))
        i = rng.randrange(len(v))
        others.append(v[:i] + rng.choice(alphabet) + v[i + 1 :])  # one character replaced
        others.append(v[:i] + v[i + 1 :])
        others.append(v[:i] + v[i] + v[i:])
        others.append(v + rng.choice(alphabet))  # a trailing character ("14.5" -> "14.50")
        others.append(rng.choice(alphabet) + v)
    return edges, others


def _numbers_moved(v: str, numbers: list[re.Match[str]], rng: Any) -> list[str]:
    """Each number in the text (at most four) one up and one down, keeping its width."""
    out = []
    for m in numbers[:4]:
        n, width = int(m.group()), len(m.group())
        out += [
            v[: m.start()] + str(k).zfill(width) + v[m.end() :] for k in (n - 1, n + 1) if k >= 0
        ]
    return out


def _numbers_set(v: str, numbers: list[re.Match[str]], rng: Any) -> list[str]:
    """Every number bumped at once, or set at random; each number set to each boundary."""
    out = [
        _NUMBER.sub(lambda m: str(int(m.group()) + 1), v),
        _NUMBER.sub(lambda m: str(rng.randint(0, 2 * int(m.group()) + 1)), v),
    ]
    values = [h for h in rng.hints if type(h) is int and h >= 0]
    for m in numbers[:4]:
        width = len(m.group())
        out += [v[: m.start()] + str(n).zfill(width) + v[m.end() :] for n in values]
    return out


def _word_edges(words: list[str]) -> list[str]:
    """Words (space-separated) reversed, the first two swapped, the last one dropped."""
    return [
        " ".join(words[::-1]),
        " ".join([words[1], words[0], *words[2:]]),
        " ".join(words[:-1]),
    ]


def _word_mutants(words: list[str], seen: list[Any], rng: Any) -> list[str]:
    """Words shuffled, one repeated, one taken from another visible string."""
    shuffled = words[:]
    rng.shuffle(shuffled)
    i = rng.randrange(len(words))
    pool = [w for s in seen if isinstance(s, str) for w in s.split(" ") if w]
    out = [" ".join(shuffled), " ".join([*words[: i + 1], words[i], *words[i + 1 :]])]
    if pool:
        out.append(" ".join([*words[:i], rng.choice(pool), *words[i:]]))
        out.append(" ".join([*words[:i], rng.choice(pool), *words[i + 1 :]]))
    return out
