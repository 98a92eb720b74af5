"""Where a flow run's time goes: its plain-Python parts, each re-timed alone afterwards.

The flow benchmarks time the whole flow and subtract nothing; these figures only
explain a missed target (what is left over is Prefect's own cost).
"""

from __future__ import annotations

import asyncio
import tempfile

from bench.common import stopwatch


def reports_s(run_dir: str) -> float:
    """Summary, comparisons and reports for a finished run (the aggregate flow's body)."""
    from flows.aggregate import build_run_reports

    with stopwatch() as t:
        build_run_reports(run_dir)
    return t["s"]


def pool_start_s() -> float:
    """Starting (and stopping) a sandbox pool with the flow's default settings."""
    from tasks.config import SandboxSettings
    from tasks.run.sandboxes import close_sandboxes, shared_sandbox

    close_sandboxes()
    with stopwatch() as t:
        shared_sandbox(SandboxSettings())
    close_sandboxes()
    return t["s"]


def generation_s(provider, tasks: list, samples: int, store_root: str | None = None) -> float:
    """``generate_cells`` for every cell with a store (a fresh one unless given)."""
    from tasks.providers.limits import Limiter
    from tasks.providers.retry import RetryPolicy
    from tasks.record.types import GenerationOptions
    from tasks.run.cache import GenerationStore
    from tasks.run.generate import generate_cells

    async def go(root: str) -> None:
        await generate_cells(
            provider, tasks, samples, GenerationOptions(), store=GenerationStore(root),
            limiter=Limiter(), policy=RetryPolicy(),
        )  # fmt: skip

    if store_root is not None:
        with stopwatch() as t:
            asyncio.run(go(store_root))
        return t["s"]
    with tempfile.TemporaryDirectory(prefix="vivek-bench-gen-") as tmp, stopwatch() as t:
        asyncio.run(go(tmp))
    return t["s"]


def explain(total_s: float, parts: dict[str, float]) -> str:
    """'a 1.2 s, b 0.3 s, rest 2.0 s' for notes."""
    rest = total_s - sum(parts.values())
    shown = ", ".join(f"{name} {secs:.1f} s" for name, secs in parts.items())
    return f"{shown}, rest (Prefect runs, tasks, artifacts, row assembly, Parquet) {rest:.1f} s"
