"""Assemble result rows from a generation outcome and its check fields."""

from __future__ import annotations

from typing import Any

from tasks.checks import CHECKER_VERSION, EMPTY_CHECKS
from tasks.generate import CellOutcome


def assemble_row(
    run_id: str, suite: str, outcome: CellOutcome, checks: dict[str, Any] | None
) -> dict[str, Any]:
    """One row of ``results.parquet``. Generation failures get filled, zeroed checks."""
    gen = outcome.generation
    opts = outcome.options
    if checks is None:
        checks = {**EMPTY_CHECKS, "status": "generation_error", "error": outcome.error}
    price_known = gen is not None and gen.cost_usd is not None
    row: dict[str, Any] = {
        "run_id": run_id,
        "suite": suite,
        "model": outcome.model,
        "provider": outcome.provider,
        "task_id": outcome.task_id,
        "sample": outcome.sample,
        "error_kind": outcome.error_kind,
        "attempts": outcome.attempts,
        "completion": gen.text if gen else "",
        "prompt_tokens": gen.prompt_tokens if gen else None,
        "completion_tokens": gen.completion_tokens if gen else None,
        "latency_s": gen.latency_s if gen else None,
        "cost_usd": gen.cost_usd if gen else None,
        "price_known": price_known or gen is None,
        "temperature": opts.temperature,
        "max_tokens": opts.max_tokens,
        "seed": opts.seed,
        "system_prompt": opts.system_prompt or "",
        "finish_reason": (gen.finish_reason or "") if gen else "",
        "timestamp": gen.timestamp if gen else "",
        "generation_key": outcome.key,
        "cached": outcome.cached,
        "sandbox": checks.get("sandbox", "{}"),
        "checker_version": CHECKER_VERSION,
    }
    row.update({k: v for k, v in checks.items() if k != "sandbox"})
    row.setdefault("status", "generation_error")
    row.setdefault("error", "")
    return row
