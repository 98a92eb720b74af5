"""Vivek's checks on a list of items, timed as a whole and stage by stage (one line each).

The whole: a cold sandbox pool, no cache, every check on (the reference run of each task,
assembly, static checks, ruff, the sandbox with coverage and differential calls, row
building), in the flow's chunks, all at once as its task runner runs them, then the rows
written as Parquet. Then once more with only the reference runs
remembered (what a second run of a suite costs: the check cache is emptied, the
reference cache kept). Then the sandbox alone on the same jobs, in variants, to split its
time: a trivial job per sample (forking the two processes, confining them, ending them),
the tests only, with coverage, with coverage and the differential calls.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from typing import Any

from bench.common import stopwatch

FLOOR_CODE = "x = 1\n"
FLOOR_TESTS = "def test_nothing():\n    pass\n"


def _outcome(item: Any, sample: int) -> Any:
    """The cell a checked item came from, as the pipeline records it."""
    from tasks.record.types import CellOutcome, Generation, GenerationOptions

    gen = Generation(text=item.completion, model="bench", timestamp="2026-01-01T00:00:00+00:00")
    return CellOutcome(
        "bench", "bench", item.task.id, sample, f"k{sample}", GenerationOptions(), gen
    )


def _chunks_as_the_flow_runs_them(sandbox: Any, root: str, items: list, chunk: int) -> tuple:
    """The chunks checked as the flow's check tasks are (``tasks.run.sandboxes.run_checks``
    on its thread-pool task runner): each by its own Checker, ``CHUNKS_AT_ONCE`` of them
    at once sharing the pool job by job, their reference runs taking turns.

    Returns the rows in order, the stage times summed over the chunks (they overlap, so
    the sum can exceed the wall time) and each task's plan.
    """
    import collections
    from concurrent.futures import ThreadPoolExecutor

    from tasks.quality.checker import Checker
    from tasks.run.cache import CheckStore
    from tasks.run.sandboxes import SharedPool

    shared = SharedPool(sandbox)
    parts = [items[i : i + chunk] for i in range(0, len(items), chunk)]
    checkers = [Checker(sandbox, store=CheckStore(root), plan_lock=shared.plan_lock)
                for _ in parts]  # fmt: skip

    def check(checker: Any, part: list) -> list:
        with shared.turns:
            return checker.check_fields(part)

    with ThreadPoolExecutor(len(parts)) as pool:
        done = list(pool.map(check, checkers, parts))
    timings: dict[str, float] = collections.defaultdict(float)
    plans: dict = {}
    for checker in checkers:
        for stage, seconds in checker.timings.items():
            timings[stage] += seconds
        plans.update(checker._plans)
    return [r for part in done for r in part], dict(timings), plans


def measure(items: list, chunk: int) -> dict[str, Any]:
    """Rows, seconds and stage times for ``items`` (``CheckItem``s) in chunks of ``chunk``."""
    from tasks.quality.checker import Checker
    from tasks.record.results import rows_to_table, write_table
    from tasks.record.row import Row
    from tasks.sandbox import Job, Sandbox

    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="vivek-bench-stages-") as tmp:
        with stopwatch() as whole:
            with stopwatch() as start:
                sandbox = Sandbox(isolation="require")
            rows, timings, known = _chunks_as_the_flow_runs_them(sandbox, tmp, items, chunk)
            with stopwatch() as parquet:
                table = [
                    Row.checked("bench", "bench", _outcome(it, i), r)
                    for i, (it, r) in enumerate(zip(items, rows, strict=True))
                ]
                write_table(rows_to_table(table), f"{tmp}/results.parquet")
        out["rows"], out["seconds"] = rows, whole["s"]
        stages = {"pool_start": start["s"], **timings, "parquet": parquet["s"]}
        # A second run of the suite: the reference runs remembered, every check redone.
        shutil.rmtree(f"{tmp}/checks", ignore_errors=True)
        with stopwatch() as warm:
            _chunks_as_the_flow_runs_them(sandbox, tmp, items, chunk)
        out["seconds_references_known"] = warm["s"] + start["s"]
        # The sandbox alone, in variants, on the jobs the checker ran.
        plans = [known[Checker._task_key(it.task)] for it in items]
        codes = [r.code for r in rows]
        jobs = [
            Job(code, p.tests, p.exports, p.calls, cpu_s=r.cpu_limit_s)
            for code, p, r in zip(codes, plans, rows, strict=True)
            if r.status not in ("no_code", "syntax_error", "suite_error")
        ]
        variants = {
            "sandbox_floor": [Job(FLOOR_CODE, FLOOR_TESTS, measure_coverage=False)] * len(jobs),
            "sandbox_tests": [_variant(j, calls=(), cov=False) for j in jobs],
            "sandbox_tests_coverage": [_variant(j, calls=(), cov=True) for j in jobs],
            "sandbox_tests_coverage_calls": jobs,
        }
        for name, batch in variants.items():
            t0 = time.perf_counter()
            sandbox.run(batch)
            stages[name] = time.perf_counter() - t0
        sandbox.close()
    out["stages_s"] = {k: round(v, 3) for k, v in stages.items()}
    return out


def _variant(job, calls: tuple, cov: bool):
    import dataclasses

    return dataclasses.replace(job, calls=calls, measure_coverage=cov)


def explain(stages: dict[str, float]) -> str:
    """The stage times as one line, with the sandbox's time split by difference."""
    s = stages
    parts = [
        f"pool start {s['pool_start']:.2f}",
        f"assembly {s.get('assemble', 0):.2f}",
        f"reference runs {s.get('references', 0):.2f}",
        f"static {s.get('static', 0):.2f}",
        f"ruff {s.get('ruff', 0):.2f}",
        f"sandbox {s.get('sandbox', 0):.2f}",
        f"rows {s.get('rows', 0):.2f}",
        f"Parquet {s['parquet']:.2f}",
    ]
    floor = s["sandbox_floor"]
    split = (
        f"the sandbox alone: two fresh processes per sample {floor:.2f}, tests "
        f"{s['sandbox_tests'] - floor:+.2f}, coverage "
        f"{s['sandbox_tests_coverage'] - s['sandbox_tests']:+.2f}, differential calls "
        f"{s['sandbox_tests_coverage_calls'] - s['sandbox_tests_coverage']:+.2f}"
    )
    return "; ".join(f"{part} s" for part in parts) + f" ({split} s)"
