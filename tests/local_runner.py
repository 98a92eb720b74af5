"""A runner of plain calls for tests: generation in this event loop, checks in a thread.

Lives under tests/: the product's runner is ``tasks.run.pipeline.PrefectRunner``.
Tests import it as ``local_runner``.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from tasks.providers.base import Provider
from tasks.quality.checker import CheckItem
from tasks.record.checks import CheckFields
from tasks.record.types import CellOutcome, Task
from tasks.run.cache import GenerationStore
from tasks.run.generate import generate_cells
from tasks.run.plan import Plan
from tasks.run.progress import Progress
from tasks.run.sandboxes import run_checks


class LocalRunner:
    """``tasks.run.plan.Runner`` without Prefect."""

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="vivek-check")

    async def generate(
        self, provider: Provider, tasks: Sequence[Task], plan: Plan, progress: Progress, **kw: Any
    ) -> list[CellOutcome]:
        return await generate_cells(
            provider,
            tasks,
            plan.config.samples,
            plan.options,
            store=GenerationStore(plan.store_root, read=not plan.config.fresh),
            on_done=lambda o: progress.advance(generated=1, cached=int(o.cached)),
            **kw,
        )

    def submit_checks(
        self, items: list[CheckItem], plan: Plan, label: str
    ) -> Future[list[CheckFields]]:
        cfg = plan.config
        weights = dict(cfg.score_weights)
        return self._pool.submit(
            run_checks, items, cfg.sandbox, weights, plan.store_root, fresh=cfg.fresh
        )
