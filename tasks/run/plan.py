"""A run as plain Python: validate everything (``prepare``), then generate, check and write
results (``run_plan``). No Prefect here: the flow passes a runner whose generate and
check calls are Prefect tasks (``tasks.run.pipeline.PrefectRunner``); tests pass one that
calls the plain functions.

Writes are ordered so that an interrupted run is recognisable: ``results.parquet``,
then ``meta.json`` with ``"state": "results"``; the aggregation then writes the summary,
the reports and the run-index entry, and last sets ``"state": "complete"``
(``vivek report RUN`` finishes a run left in between).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import socket
import uuid
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any, Protocol
from urllib.parse import urlsplit

import fsspec

from tasks.config import ProviderSettings, RunConfig
from tasks.errors import UsageError
from tasks.providers.base import Provider, ProviderConfig
from tasks.providers.registry import parse_model, provider_class, resolve
from tasks.quality.checker import CheckItem
from tasks.quality.score import Weights
from tasks.record.checks import CHECKER_VERSION, CheckFields
from tasks.record.results import safe_table, write_table, write_text
from tasks.record.row import Row
from tasks.record.types import CellOutcome, GenerationOptions, Suite, Task
from tasks.run.progress import Progress
from tasks.suites.load import load_suite

log = logging.getLogger("vivek.run")


@dataclass
class Plan:
    """A validated run: nothing has been generated yet."""

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

    @property
    def cells(self) -> int:
        return len(self.providers) * len(self.suite.tasks) * self.config.samples


def new_run_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(3)


def provider_config(cfg: RunConfig, spec: str) -> ProviderConfig:
    """The provider's runtime settings: the model's, over the provider name's, over the
    run's ``base_url``, over the defaults (``ProviderSettings``, the provider's own)."""
    name, _ = parse_model(spec)
    p = cfg.providers.get(name) or ProviderSettings()
    m = cfg.model_settings.get(spec)
    return ProviderConfig(
        base_url=(m.base_url if m else None) or p.base_url or cfg.base_url,
        timeout_s=p.timeout_s,
        max_concurrency=p.max_concurrency or provider_class(name).default_concurrency,
        requests_per_minute=p.requests_per_minute,
        price_per_mtok=m.price if m else None,
    )


def prepare(cfg: RunConfig, run_id: str | None = None) -> Plan:
    """Validate everything before any generation: UsageError on bad input.

    The output location is probed for writability last, so bad input writes nothing.
    """
    suite = load_suite(cfg.suite, limit=cfg.task_limit)
    providers: list[Provider] = []
    for spec in cfg.models:
        provider = resolve(spec, provider_config(cfg, spec))
        provider.check_ready()
        if provider.label in {p.label for p in providers}:
            raise UsageError(f"Model {provider.label!r} is listed twice.")
        providers.append(provider)
    if cfg.dask_address:
        check_dask(cfg.dask_address)
    check_writable(cfg.out)
    return Plan(cfg, suite, providers, cfg.generation_options(), run_id or new_run_id())


def check_writable(out: str) -> None:
    """Write and remove a probe file under ``out``: a read-only location fails in a second."""
    try:
        fs, path = fsspec.core.url_to_fs(out)
        fs.makedirs(path, exist_ok=True)
        probe = f"{path.rstrip('/')}/.vivek-probe-{uuid.uuid4().hex}"
        with fs.open(probe, "wb") as fh:
            fh.write(b"ok")
        fs.rm(probe)
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc) or exc.__class__.__name__
        raise UsageError(f"Output location {out!r} is not writable ({reason}).") from None


def check_dask(address: str, timeout_s: float = 3.0) -> None:
    """Connect to the scheduler's port: an unreachable cluster fails before any generation."""
    parts = urlsplit(address if "://" in address else f"tcp://{address}")
    if parts.scheme not in ("tcp", "tls") or not parts.hostname:
        return  # other transports (inproc, ucx) are left to Dask itself
    try:
        with socket.create_connection((parts.hostname, parts.port or 8786), timeout=timeout_s):
            pass
    except OSError as exc:
        reason = exc.strerror or exc.__class__.__name__
        raise UsageError(f"Dask scheduler at {address} is unreachable ({reason}).") from None


class CheckFuture(Protocol):
    def result(self) -> list[CheckFields]: ...


class Runner(Protocol):
    """Where a plan's generation and checks run (Prefect tasks, or plain calls)."""

    async def generate(
        self, provider: Provider, tasks: Sequence[Task], plan: Plan, progress: Progress, **kw: Any
    ) -> list[CellOutcome]: ...

    def submit_checks(self, items: list[CheckItem], plan: Plan, label: str) -> CheckFuture: ...


def chunks(seq: Sequence, size: int) -> list[list]:
    return [list(seq[i : i + size]) for i in range(0, len(seq), size)] or [[]]


async def run_plan(
    plan: Plan, runner: Runner, progress: Progress | None = None, logger: Any = log
) -> dict[str, str]:
    """Generate, check and write results for a prepared plan; return the output paths."""
    from tasks.providers.limits import Limiter

    cfg = plan.config
    progress = progress or Progress(plan.cells)
    tasks_by_id = {t.id: t for t in plan.suite.tasks}
    limiter = Limiter(shared=cfg.shared_limits)
    policy = cfg.retry.policy()
    logger.info(
        "run %s: %d model(s) x %d task(s) x %d sample(s) = %d cells",
        plan.run_id, len(plan.providers), len(plan.suite.tasks), cfg.samples, plan.cells,
    )  # fmt: skip
    checks: list[tuple[list[CellOutcome], CheckFuture]] = []
    failed: list[CellOutcome] = []

    async def gen_then_check(provider: Provider, chunk: list[Task]) -> None:
        outcomes = await runner.generate(
            provider, chunk, plan, progress, limiter=limiter, policy=policy
        )
        ok = [o for o in outcomes if o.ok]
        failed.extend(o for o in outcomes if not o.ok)
        progress.advance(checked=len(outcomes) - len(ok), failures=len(outcomes) - len(ok))
        if ok:
            items = [
                CheckItem(tasks_by_id[o.task_id], o.generation.text)
                for o in ok
                if o.generation is not None  # every one: ok means generated
            ]
            label = f"{provider.label} [{len(chunk)} tasks from {chunk[0].id}]"
            checks.append((ok, runner.submit_checks(items, plan, label)))

    try:
        await asyncio.gather(
            *(
                gen_then_check(p, chunk)
                for p in plan.providers
                for chunk in chunks(plan.suite.tasks, cfg.tasks_per_chunk)
            )
        )
    finally:
        for provider in plan.providers:
            with contextlib.suppress(Exception):
                await provider.aclose()
    rows = [Row.generation_failed(plan.run_id, plan.suite.name, o) for o in failed]
    for outcomes, future in checks:
        try:
            results = await asyncio.to_thread(future.result)
        except Exception as exc:  # infrastructure failure: never the model's fault
            logger.error("check task failed: %s", exc)
            reason = f"checks failed: {exc.__class__.__name__}: {exc}"[:300]
            results = [CheckFields.sandbox_failed(reason)] * len(outcomes)
        rows.extend(
            Row.checked(plan.run_id, plan.suite.name, o, c)
            for o, c in zip(outcomes, results, strict=True)
        )
        progress.advance(checked=len(outcomes), failures=sum(c.status != "pass" for c in results))
    order = {p.label: i for i, p in enumerate(plan.providers)}
    task_order = {t.id: i for i, t in enumerate(plan.suite.tasks)}
    rows.sort(key=lambda r: (order[r.model], task_order[r.task_id], r.sample))
    results_path = f"{plan.run_dir}/results.parquet"
    write_table(safe_table(rows, logger), results_path)
    write_text(f"{plan.run_dir}/meta.json", json.dumps(meta(plan, rows), indent=2, sort_keys=True))
    logger.info("wrote %d rows to %s", len(rows), results_path)
    return {"run_id": plan.run_id, "run_dir": plan.run_dir, "results": results_path}


def meta(plan: Plan, rows: Sequence[Row], state: str = "results") -> dict[str, Any]:
    """Run facts for the report (never a key: the config holds none)."""
    sandbox = next((r.sandbox for r in rows if r.sandbox not in (None, "", "{}")), None) or "{}"
    return {
        "run_id": plan.run_id,
        "state": state,
        "suite": plan.suite.name,
        "suite_digest": plan.suite.digest(),
        "suite_source": plan.suite.source,
        "tasks": len(plan.suite.tasks),
        "samples": plan.config.samples,
        "models": [p.label for p in plan.providers],
        "options": asdict(plan.options),
        "task_limit": plan.config.task_limit,
        "score_weights": asdict(Weights.from_mapping(plan.config.score_weights)),
        "checker_version": CHECKER_VERSION,
        "primary_metric": plan.config.primary_metric,
        "sandbox": json.loads(sandbox),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        # Every setting the run used, after merging flags or the run parameter, the
        # deployment's defaults and the config file.
        "config": _no_credentials(plan.config.model_dump(mode="json", by_alias=True)),
    }


def _no_credentials(value: Any) -> Any:
    """The same data with any ``user:password@`` in a URL masked (a base_url may carry one)."""
    if isinstance(value, dict):
        return {k: _no_credentials(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_no_credentials(v) for v in value]
    if isinstance(value, str) and "://" in value:
        parts = urlsplit(value)
        if parts.username or parts.password:
            return parts._replace(
                netloc=f"***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
            ).geturl()
    return value


ProgressListener = Callable[[Progress], None]
