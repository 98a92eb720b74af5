"""The evaluation flow: models x suite x samples -> checks -> results.parquet -> reports."""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

import anyio
from prefect import flow, get_run_logger

from tasks.checks import EMPTY_CHECKS, CheckItem
from tasks.config import RunConfig, load_config
from tasks.errors import UsageError
from tasks.generate import CellOutcome
from tasks.pipeline import check_chunk, generate_chunk
from tasks.progress import Progress
from tasks.providers.base import Provider, ProviderConfig
from tasks.providers.registry import parse_model, resolve
from tasks.records import GenerationOptions, Suite
from tasks.results import rows_to_table, write_table, write_text
from tasks.rows import assemble_row
from tasks.suites import load_suite

# The CLI registers listeners here to draw its progress bar.
PROGRESS_LISTENERS: list[Callable[[Progress], None]] = []


@dataclass
class Plan:
    """A validated run: nothing has been written yet."""

    config: RunConfig
    suite: Suite
    providers: list[Provider]
    options: GenerationOptions
    run_id: str

    @property
    def run_dir(self) -> str:
        return f"{self.config.out.rstrip('/')}/{self.run_id}"

    @property
    def store_root(self) -> str:
        return f"{self.config.out.rstrip('/')}/.cache"


def new_run_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(3)


def provider_config(cfg: RunConfig, spec: str) -> ProviderConfig:
    name, _ = parse_model(spec)
    p = cfg.providers.get(name)
    m = cfg.model_settings.get(spec)
    base_url = (m.base_url if m else None) or (p.base_url if p else None) or cfg.base_url
    return ProviderConfig(
        base_url=base_url,
        timeout_s=p.timeout_s if p else 120.0,
        max_concurrency=p.max_concurrency if p else (1 if name == "llamacpp" else 4),
        requests_per_minute=p.requests_per_minute if p else None,
        price_per_mtok=m.price if m and m.price else None,
    )


def prepare(cfg: RunConfig, run_id: str | None = None) -> Plan:
    """Validate everything before any generation or write: UsageError on bad input."""
    suite = load_suite(cfg.suite, limit=cfg.task_limit)
    providers: list[Provider] = []
    for spec in cfg.models:
        provider = resolve(spec, provider_config(cfg, spec))
        provider.check_ready()
        if provider.label in {p.label for p in providers}:
            raise UsageError(f"Model {provider.label!r} is listed twice.")
        providers.append(provider)
    options = GenerationOptions(
        temperature=cfg.temperature,
        max_tokens=cfg.max_tokens,
        seed=cfg.seed,
        **({"system_prompt": cfg.system_prompt} if cfg.system_prompt is not None else {}),
    )
    return Plan(cfg, suite, providers, options, run_id or new_run_id())


def _chunks(seq: list, size: int) -> list[list]:
    return [seq[i : i + size] for i in range(0, len(seq), size)] or [[]]


async def run_plan(plan: Plan) -> dict[str, str]:
    """Generate, check and write results for a prepared plan; return the output paths."""
    from tasks.providers.limits import Limiter
    from tasks.providers.retry import RetryPolicy

    log = get_run_logger()
    cfg = plan.config
    tasks_by_id = {t.id: t for t in plan.suite.tasks}
    total = len(plan.providers) * len(plan.suite.tasks) * cfg.samples
    progress = Progress(total)
    progress.listeners.extend(PROGRESS_LISTENERS)
    limiter = Limiter()
    policy = RetryPolicy(
        max_attempts=cfg.retry.max_attempts,
        max_total_s=cfg.retry.max_total_s,
        base_delay_s=cfg.retry.base_delay_s,
    )
    tasks_per_chunk = cfg.tasks_per_chunk
    log.info(
        "run %s: %d model(s) x %d task(s) x %d sample(s) = %d cells",
        plan.run_id,
        len(plan.providers),
        len(plan.suite.tasks),
        cfg.samples,
        total,
    )
    artifact = _ProgressArtifact(progress)
    await artifact.start()
    check_futures: list[tuple[list[CellOutcome], Any]] = []
    failed_outcomes: list[CellOutcome] = []

    async def gen_then_check(provider: Provider, chunk: list) -> None:
        outcomes = await generate_chunk(
            provider,
            chunk,
            cfg.samples,
            plan.options,
            first=chunk[0].id,
            store_root=plan.store_root,
            fresh=cfg.fresh,
            limiter=limiter,
            policy=policy,
            progress=progress,
        )
        ok = [o for o in outcomes if o.ok]
        for o in outcomes:
            if not o.ok:
                failed_outcomes.append(o)
        progress.advance(checked=len(outcomes) - len(ok))
        if ok:
            items = [CheckItem(tasks_by_id[o.task_id], o.generation.text) for o in ok]
            future = check_chunk.submit(
                items,
                cfg.sandbox,
                dict(cfg.score_weights),
                plan.store_root,
                label=f"{provider.label} {chunk[0].id}",
            )
            check_futures.append((ok, future))

    await asyncio.gather(
        *(
            gen_then_check(p, chunk)
            for p in plan.providers
            for chunk in _chunks(list(plan.suite.tasks), tasks_per_chunk)
        )
    )
    for provider in plan.providers:
        with contextlib.suppress(Exception):
            await provider.aclose()
    rows: list[dict[str, Any]] = [
        assemble_row(plan.run_id, plan.suite.name, o, None) for o in failed_outcomes
    ]
    for outcomes, future in check_futures:
        try:
            checks = await anyio.to_thread.run_sync(future.result)
        except Exception as exc:  # infrastructure failure: never the model's fault
            log.error("check task failed: %s", exc)
            reason = f"checks failed: {exc.__class__.__name__}: {exc}"[:300]
            checks = [
                {**EMPTY_CHECKS, "status": "sandbox_error", "error": reason} for _ in outcomes
            ]
        rows.extend(
            assemble_row(plan.run_id, plan.suite.name, o, c)
            for o, c in zip(outcomes, checks, strict=True)
        )
        progress.advance(checked=len(outcomes), failures=sum(c["status"] != "pass" for c in checks))
    await artifact.stop()
    order = {p.label: i for i, p in enumerate(plan.providers)}
    task_order = {t.id: i for i, t in enumerate(plan.suite.tasks)}
    rows.sort(key=lambda r: (order[r["model"]], task_order[r["task_id"]], r["sample"]))
    results_path = f"{plan.run_dir}/results.parquet"
    write_table(rows_to_table(rows), results_path)
    write_text(f"{plan.run_dir}/meta.json", json.dumps(_meta(plan, rows), indent=2, sort_keys=True))
    log.info("wrote %d rows to %s", len(rows), results_path)
    return {"run_id": plan.run_id, "run_dir": plan.run_dir, "results": results_path}


def _meta(plan: Plan, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Run facts for the report (never a key: the config holds none)."""
    sandbox = next((r["sandbox"] for r in rows if r.get("sandbox") not in (None, "", "{}")), "{}")
    return {
        "run_id": plan.run_id,
        "suite": plan.suite.name,
        "suite_digest": plan.suite.digest(),
        "suite_source": plan.suite.source,
        "tasks": len(plan.suite.tasks),
        "samples": plan.config.samples,
        "models": [p.label for p in plan.providers],
        "options": asdict(plan.options),
        "primary_metric": plan.config.primary_metric,
        "sandbox": json.loads(sandbox),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
    }


class _ProgressArtifact:
    """A Prefect progress artifact, updated from the flow's loop while cells complete."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.id = None
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
                await aupdate_progress_artifact(self.id, progress=round(self.progress.percent, 1))

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
        await self._update()


@flow(name="vivek-evaluate", log_prints=True)
async def evaluate(
    models: list[str] | None = None,
    suite: str | None = None,
    samples: int | None = None,
    out: str | None = None,
    config: str | None = None,
    base_url: str | None = None,
    fresh: bool | None = None,
    task_limit: int | None = None,
    temperature: float | None = None,
    max_tokens: int | None = None,
    seed: int | None = None,
    run_id: str | None = None,
) -> dict[str, str]:
    """Evaluate models on a suite; writes results, summary and reports under ``out/<run_id>``.

    Parameters left as None come from the config file (``config``), then defaults.
    """
    overrides = {
        "models": models,
        "suite": suite,
        "samples": samples,
        "out": out,
        "base_url": base_url,
        "fresh": fresh,
        "task_limit": task_limit,
        "temperature": temperature,
        "max_tokens": max_tokens,
        "seed": seed,
    }
    cfg = load_config(config, overrides)
    plan = prepare(cfg, run_id)
    paths = await run_plan(plan)
    from flows.aggregate import aggregate

    paths.update(await aggregate(paths["run_dir"], primary=cfg.primary_metric))
    return paths
