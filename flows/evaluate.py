"""The evaluation flow: models x suite x samples -> checks -> results.parquet -> reports.

The flow is thin: :mod:`tasks.run.plan` holds the run's logic as plain Python, and
:class:`tasks.run.pipeline.PrefectRunner` makes its generate and check calls Prefect tasks.
"""

from __future__ import annotations

import asyncio
import contextlib
from uuid import UUID

from prefect import flow, get_run_logger

from flows import local
from tasks.config import RunOverrides, merge
from tasks.run.pipeline import PrefectRunner
from tasks.run.plan import prepare, run_plan
from tasks.run.progress import Progress


class _ProgressArtifact:
    """A Prefect progress artifact, updated from the flow's loop while cells complete."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.id: UUID | None = None
        self._task: asyncio.Task | None = None

    async def start(self) -> None:
        from prefect.artifacts import acreate_progress_artifact

        try:
            self.id = await acreate_progress_artifact(
                progress=0.0, key="vivek-progress", description="Cells generated and checked"
            )
        except Exception:
            return
        self._task = asyncio.create_task(self._loop())

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(2.0)
            await self._update()

    async def _update(self) -> None:
        from prefect.artifacts import aupdate_progress_artifact

        if self.id is not None:
            # A lost progress update must never break a run.
            with contextlib.suppress(Exception):
                progress = round(self.progress.percent, 1)
                line = self.progress.line
                await aupdate_progress_artifact(self.id, progress=progress, description=line)

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
        await self._update()


async def _deployment_run() -> dict | None:
    """The ``run`` a deployment gives by default (``adhoc``: 3 tasks, 1 sample), or None.

    Prefect replaces a deployment's default parameter with the one a run is given, whole;
    Vivek merges them field by field instead, so it reads the default from the deployment.
    """
    from prefect.client.orchestration import get_client
    from prefect.runtime import deployment

    if not deployment.id:
        return None
    async with get_client() as client:
        found = await client.read_deployment(deployment.id)
    run = (found.parameters or {}).get("run")
    return run if isinstance(run, dict) else None


@flow(name="vivek-evaluate", log_prints=True)
async def evaluate(
    run: RunOverrides | None = None,  # type: ignore[valid-type]  # a model made at import
    config: str | None = None,
    run_id: str | None = None,
) -> dict[str, str]:
    """Evaluate models on a suite; writes results, summary and reports under ``out/<run_id>``.

    Args:
        run: Run settings; any field left empty comes from the deployment's default run,
            then ``config``, then Vivek's defaults.
        config: A TOML or YAML config file (a path on the machine that runs the flow).
        run_id: The run's identifier (default: UTC time and a random suffix).
    """
    # Through the module, not a global of this file: Dask pickles this function by value,
    # and a ContextVar cannot be pickled.
    from prefect.runtime import flow_run

    flow_run_id = str(flow_run.id or "")
    started = local.STARTED.get()
    if started is not None:
        started(flow_run_id)
    plan = local.PLAN.get()
    # The CLI's prepared plan serves only the run it was prepared for (same run id).
    if plan is None or run_id is None or plan.run_id != run_id:
        plan = prepare(merge(config, run, defaults=await _deployment_run()), run_id)
    progress = Progress(plan.cells)
    listener = local.PROGRESS.get()
    if listener is not None:
        progress.listeners.append(listener)
    artifact = _ProgressArtifact(progress)
    await artifact.start()
    try:
        paths = await run_plan(plan, PrefectRunner(), progress, get_run_logger())
    finally:
        await artifact.stop()
    from flows.aggregate import finish_run

    # In this flow run, not a subflow: its artifacts are on the run a user opens.
    paths.update(await finish_run(paths["run_dir"], primary=plan.config.primary_metric))
    paths["flow_run_id"] = flow_run_id
    return paths
