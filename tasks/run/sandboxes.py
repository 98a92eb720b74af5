"""The sandboxes of this process: one pool per sandbox settings, and the checks run in it.

Plain Python, no Prefect: the check task (``tasks.run.pipeline``), the benchmarks and
the tests call :func:`run_checks`. A pool starts on first use, so a fully cached batch
never pays for it, and lives until :func:`close_sandboxes` (or the process ends).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from tasks.config import SandboxSettings
from tasks.quality.checker import Checker, CheckItem
from tasks.quality.score import Weights
from tasks.record.checks import CheckFields
from tasks.run.cache import CheckStore
from tasks.sandbox.types import ExecResult, Job


class LazySandbox:
    """Starts the worker pool on first use."""

    def __init__(self, settings: SandboxSettings) -> None:
        self.settings = settings
        self._sandbox: Any = None
        self._lock = threading.Lock()

    def _get(self) -> Any:
        with self._lock:
            if self._sandbox is None:
                from tasks.sandbox import Sandbox

                s = self.settings
                self._sandbox = Sandbox(s.limits(), workers=s.workers, isolation=s.isolation)
            return self._sandbox

    @property
    def config(self) -> dict[str, Any]:
        return self._get().config

    def run(self, jobs: Sequence[Job]) -> list[ExecResult]:
        return self._get().run(jobs)

    def close(self) -> None:
        with self._lock:
            if self._sandbox is not None:
                self._sandbox.close()
                self._sandbox = None


# Check chunks of one pool checking at once: the next chunk's reference runs and first
# samples fill the workers a chunk's last long sample leaves idle (the corpus bench: 12.1 s
# one at a time, 8.7 s two at once). More at once measured no faster (4,920 cells in 51
# chunks: 49-57 s for one, two or all at once) and holds every chunk's work in memory.
CHUNKS_AT_ONCE = 2


@dataclass
class SharedPool:
    """A process's pool for one sandbox setting, and the turns its checkers take."""

    sandbox: LazySandbox
    plan_lock: threading.Lock = field(default_factory=threading.Lock)  # reference runs
    turns: threading.BoundedSemaphore = field(
        default_factory=lambda: threading.BoundedSemaphore(CHUNKS_AT_ONCE)
    )


_SANDBOXES: dict[tuple[tuple[str, Any], ...], SharedPool] = {}
_GLOBAL = threading.Lock()


def shared_sandbox(settings: SandboxSettings) -> SharedPool:
    """One sandbox pool per process and settings, with its checkers' turns."""
    key = tuple(sorted(settings.model_dump().items()))
    with _GLOBAL:
        if key not in _SANDBOXES:
            _SANDBOXES[key] = SharedPool(LazySandbox(settings))
        return _SANDBOXES[key]


def close_sandboxes() -> None:
    """Stop every pool this process started."""
    with _GLOBAL:
        for shared in _SANDBOXES.values():
            shared.sandbox.close()
        _SANDBOXES.clear()


def run_checks(
    items: Sequence[CheckItem],
    settings: SandboxSettings,
    weights: dict[str, float] | None,
    store_root: str | None,
    fresh: bool = False,
) -> list[CheckFields]:
    """Check items in this process's pool for ``settings`` (the body of the check task).

    Up to ``CHUNKS_AT_ONCE`` concurrent calls (the flow's check chunks) share the pool's
    workers job by job, so one chunk's last long sample leaves no worker idle; their
    reference runs take turns (with a cache, a task's reference runs once, the later
    chunks read it).
    """
    shared = shared_sandbox(settings)
    store = CheckStore(store_root, read=not fresh) if store_root else None
    limits = settings.limits().to_dict()
    weighted = Weights.from_mapping(weights or {})
    checker = Checker(shared.sandbox, weighted, store, limits=limits, plan_lock=shared.plan_lock)
    with shared.turns:
        return checker.check_fields(items)
