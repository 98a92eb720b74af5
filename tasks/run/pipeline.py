"""Thin Prefect ``@task`` wrappers over the plain-Python generation and check logic.

Generation tasks are async and run in the flow's event loop, so one limiter per
provider (or host) governs every model and chunk. Check tasks are sync and go to
the task runner (threads, or a Dask cluster): each process keeps one sandbox pool.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE

from tasks.config import SandboxSettings
from tasks.providers.base import Provider
from tasks.quality.checker import Checker, CheckItem
from tasks.quality.score import Weights
from tasks.record.checks import CheckFields
from tasks.record.types import GenerationOptions, Task
from tasks.run.cache import CheckStore, GenerationStore
from tasks.run.generate import CellOutcome, generate_cells

_SANDBOXES: dict[tuple, Any] = {}
_SANDBOX_LOCKS: dict[tuple, threading.Lock] = {}
_GLOBAL = threading.Lock()


def sandbox_limits(settings: SandboxSettings):
    from tasks.sandbox.types import Limits

    return Limits(cpu_s=settings.cpu_s, wall_s=settings.wall_s, memory_mb=settings.memory_mb)


class LazySandbox:
    """Starts the worker pool on first use, so a fully cached batch never pays for it."""

    def __init__(self, settings: SandboxSettings) -> None:
        self.settings = settings
        self._sandbox: Any = None
        self._lock = threading.Lock()

    def _get(self) -> Any:
        with self._lock:
            if self._sandbox is None:
                from tasks.sandbox import Sandbox

                s = self.settings
                self._sandbox = Sandbox(sandbox_limits(s), workers=s.workers, isolation=s.isolation)
            return self._sandbox

    @property
    def config(self) -> dict[str, Any]:
        return self._get().config

    def run(self, jobs):
        return self._get().run(jobs)

    def close(self) -> None:
        with self._lock:
            if self._sandbox is not None:
                self._sandbox.close()
                self._sandbox = None


def shared_sandbox(settings: SandboxSettings) -> tuple[LazySandbox, threading.Lock]:
    """One sandbox pool per process and settings; callers hold the lock while running."""
    key = tuple(sorted(settings.model_dump().items()))
    with _GLOBAL:
        if key not in _SANDBOXES:
            _SANDBOXES[key] = LazySandbox(settings)
            _SANDBOX_LOCKS[key] = threading.Lock()
        return _SANDBOXES[key], _SANDBOX_LOCKS[key]


def close_sandboxes() -> None:
    with _GLOBAL:
        for sandbox in _SANDBOXES.values():
            sandbox.close()
        _SANDBOXES.clear()
        _SANDBOX_LOCKS.clear()


@task(name="generate", cache_policy=NO_CACHE, task_run_name="generate {label}")
async def generate_chunk(
    provider: Provider,
    tasks_: Sequence[Task],
    samples: int,
    options: GenerationOptions,
    *,
    label: str,
    store_root: str | None,
    fresh: bool,
    limiter: Any,
    policy: Any,
    progress: Any = None,
) -> list[CellOutcome]:
    # --fresh: nothing is read from the cache, every new generation is still stored.
    store = GenerationStore(store_root, read=not fresh) if store_root else None

    def done(outcome: CellOutcome) -> None:
        if progress is not None:
            progress.advance(generated=1, cached=int(outcome.cached))

    return await generate_cells(
        provider,
        tasks_,
        samples,
        options,
        store=store,
        limiter=limiter,
        policy=policy,
        on_done=done,
    )


def run_checks(
    items: Sequence[CheckItem],
    settings: SandboxSettings,
    weights: dict[str, float] | None,
    store_root: str | None,
    fresh: bool = False,
) -> list[CheckFields]:
    """Plain-Python body of the check task (also used by the benchmark's loop)."""
    sandbox, lock = shared_sandbox(settings)
    store = CheckStore(store_root, read=not fresh) if store_root else None
    limits = sandbox_limits(settings).to_dict()
    checker = Checker(sandbox, Weights.from_mapping(weights or {}), store, limits=limits)
    with lock:
        return checker.check_fields(items)


@task(name="check", cache_policy=NO_CACHE, task_run_name="check [{label}]")
def check_chunk(
    items: Sequence[CheckItem],
    settings: SandboxSettings,
    weights: dict[str, float] | None,
    store_root: str | None,
    label: str = "",
    fresh: bool = False,
) -> list[CheckFields]:
    return run_checks(items, settings, weights, store_root, fresh)


class PrefectRunner:
    """A plan's generation and checks as Prefect tasks (see ``tasks.run.plan.Runner``)."""

    async def generate(self, provider, tasks_, plan, progress, **kw) -> list[CellOutcome]:
        return await generate_chunk(
            provider,
            tasks_,
            plan.config.samples,
            plan.options,
            label=f"{provider.label} [{len(tasks_)} tasks from {tasks_[0].id}]",
            store_root=plan.store_root,
            fresh=plan.config.fresh,
            progress=progress,
            **kw,
        )

    def submit_checks(self, items, plan, label):
        cfg = plan.config
        weights = dict(cfg.score_weights)
        return check_chunk.submit(
            items, cfg.sandbox, weights, plan.store_root, label=label, fresh=cfg.fresh
        )
