"""Thin Prefect ``@task`` wrappers over the plain-Python generation and check logic.

Generation tasks are async and run in the flow's event loop, so one limiter per
provider (or host) governs every model and chunk. Check tasks are sync and go to
the task runner (threads, or a Dask cluster): each process keeps one sandbox pool
(``tasks.run.sandboxes``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.futures import PrefectFuture

from tasks.config import SandboxSettings
from tasks.providers.base import Provider
from tasks.quality.checker import CheckItem
from tasks.record.checks import CheckFields
from tasks.record.types import CellOutcome, GenerationOptions, Task
from tasks.run.cache import GenerationStore
from tasks.run.generate import generate_cells
from tasks.run.progress import Progress
from tasks.run.sandboxes import run_checks

if TYPE_CHECKING:
    from tasks.run.plan import Plan


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

    async def generate(
        self, provider: Provider, tasks: Sequence[Task], plan: Plan, progress: Progress, **kw: Any
    ) -> list[CellOutcome]:
        return await generate_chunk(
            provider,
            tasks,
            plan.config.samples,
            plan.options,
            label=f"{provider.label} [{len(tasks)} tasks from {tasks[0].id}]",
            store_root=plan.store_root,
            fresh=plan.config.fresh,
            progress=progress,
            **kw,
        )

    def submit_checks(
        self, items: list[CheckItem], plan: Plan, label: str
    ) -> PrefectFuture[list[CheckFields]]:
        cfg = plan.config
        weights = dict(cfg.score_weights)
        return check_chunk.submit(
            items, cfg.sandbox, weights, plan.store_root, label=label, fresh=cfg.fresh
        )
