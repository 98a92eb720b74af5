"""Scale: time per cell and peak memory of ``vivek eval`` at 500 and at 5,000 cells.

A generated suite of 5,000 small tasks (``add_<i>(x)`` returns ``x + i``), two
replayed models (one always right, one wrong on every 7th task), run through the
flow in-process. Each size runs in its own child process, so its peak RSS is the
run's own: the child reports its ``ru_maxrss`` (the flow's process) and its
children's (sandbox workers, Prefect's temporary server). Time is the flow's wall
time after a warm-up flow has started the Prefect server; fixed costs (sandbox
pool start, reports) are in both sizes, so the marginal time per cell is also given.

    python -m bench.scale child --tasks N --dir D    # one measurement, to D/result-N.json
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from bench.common import Outcome, fenced

TARGET_RATIO = 1.2
TARGET_PEAK_MB = 1536.0
SUITE_TASKS = 5000
MODELS = 2
WRONG_EVERY = 7


def write_suite(path: Path, n: int) -> Path:
    with path.open("w", encoding="utf-8") as fh:
        for i in range(n):
            task = {
                "id": f"add/{i}",
                "prompt": f"Write a Python function add_{i}(x) that returns x + {i}.",
                "tests": f"from solution import add_{i}\n\n\ndef test_add():\n"
                f"    assert add_{i}(1) == {1 + i}\n    assert add_{i}(-{i}) == 0\n",
                "reference": f"def add_{i}(x):\n    return x + {i}\n",
                "entry_point": f"add_{i}",
            }
            fh.write(json.dumps(task) + "\n")
    return path


def write_models(base: Path, n: int) -> list[Path]:
    """Two replay files: ``right`` always passes, ``wrong`` fails every 7th task."""
    paths = []
    for name in ("right", "wrong"):
        path = base / f"{name}.jsonl"
        with path.open("w", encoding="utf-8") as fh:
            for i in range(n):
                off = 1 if name == "wrong" and i % WRONG_EVERY == 0 else 0
                text = fenced(f"def add_{i}(x):\n    return x + {i + off}\n")
                fh.write(json.dumps({"task_id": f"add/{i}", "completion": text}) + "\n")
        paths.append(path)
    return paths


def child(n_tasks: int, base: Path) -> dict:
    """One flow run over the first ``n_tasks`` tasks x 2 models, in this process."""
    import asyncio
    import resource

    from bench import prefect_env

    prefect_env.configure()
    prefect_env.warm()
    from flows.evaluate import evaluate
    from tasks.config import RunConfig
    from tasks.run.sandboxes import close_sandboxes

    start = time.perf_counter()
    paths = asyncio.run(
        evaluate(
            run=RunConfig(
                models=[f"replay:{p}" for p in sorted(base.glob("models/*.jsonl"))],
                suite=str(base / "suite.jsonl"),
                samples=1,
                task_limit=n_tasks,
                out=str(base / f"out-{n_tasks}"),
            )
        )
    )
    flow_s = time.perf_counter() - start
    close_sandboxes()
    import pyarrow.parquet as pq

    statuses = pq.read_table(paths["results"], columns=["status"]).column("status").to_pylist()
    return {
        "cells": len(statuses),
        "passed": sum(s == "pass" for s in statuses),
        "flow_s": flow_s,
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "children_peak_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
    }


def measure(n_tasks: int, base: Path) -> dict:
    """``child`` in a fresh process with its own Prefect home (and temporary server)."""
    cmd = [
        sys.executable,
        "-m",
        "bench.scale",
        "child",
        "--tasks",
        str(n_tasks),
        "--dir",
        str(base),
    ]
    env = {k: v for k, v in os.environ.items() if k not in ("PREFECT_HOME", "PREFECT_API_URL")}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"scale child ({n_tasks} tasks) failed:\n{proc.stderr[-2000:]}")
    return json.loads((base / f"result-{n_tasks}.json").read_text(encoding="utf-8"))


def run(quick: bool = False) -> Outcome:
    small, large = (5, 20) if quick else (250, 2500)  # tasks; cells are twice that
    with tempfile.TemporaryDirectory(prefix="vivek-bench-scale-") as tmp:
        base = Path(tmp)
        (base / "models").mkdir()
        n_suite = large if quick else SUITE_TASKS
        write_suite(base / "suite.jsonl", n_suite)
        write_models(base / "models", n_suite)
        at_small, at_large = measure(small, base), measure(large, base)
    per_small = at_small["flow_s"] / at_small["cells"]
    per_large = at_large["flow_s"] / at_large["cells"]
    ratio = per_large / per_small
    marginal = (at_large["flow_s"] - at_small["flow_s"]) / (at_large["cells"] - at_small["cells"])
    peak = max(at_small["peak_mb"], at_large["peak_mb"])
    notes = (
        f"Generated suite of {n_suite} tasks x {MODELS} replayed models (one wrong on every "
        f"{WRONG_EVERY}th task), 1 sample; each size in a fresh process after a warm-up flow. "
        f"{at_small['cells']} cells: {per_small * 1000:.1f} ms/cell, flow process peak "
        f"{at_small['peak_mb']:.0f} MiB; {at_large['cells']} cells: {per_large * 1000:.1f} "
        f"ms/cell, peak {at_large['peak_mb']:.0f} MiB (largest child process "
        f"{at_large['children_peak_mb']:.0f} MiB). Marginal time per extra cell "
        f"{marginal * 1000:.1f} ms."
    )
    met = ratio <= TARGET_RATIO and peak <= TARGET_PEAK_MB
    if not met:
        notes += " Missed: see notes-scale.md for the profile."
    return Outcome(
        name="scale",
        figure=(
            f"time per cell at {at_large['cells']} cells / at {at_small['cells']} "
            f"(peak memory {peak:.0f} MiB)"
        ),
        value=round(ratio, 3),
        unit="x",
        target=f"<= {TARGET_RATIO}x; peak <= {TARGET_PEAK_MB / 1024:.1f} GiB",
        met=met,
        details={
            "small": at_small,
            "large": at_large,
            "ms_per_cell_small": round(per_small * 1000, 2),
            "ms_per_cell_large": round(per_large * 1000, 2),
            "marginal_ms_per_cell": round(marginal * 1000, 2),
            "peak_mb": round(peak, 1),
        },
        notes=notes,
    )


def main(argv: Sequence[str] | None = None) -> None:  # pragma: no cover - runs as a child
    p = argparse.ArgumentParser(prog="python -m bench.scale")
    p.add_argument("cmd", choices=["child"])
    p.add_argument("--tasks", type=int, required=True)
    p.add_argument("--dir", type=Path, required=True)
    args = p.parse_args(argv)
    result = child(args.tasks, args.dir)
    (args.dir / f"result-{args.tasks}.json").write_text(json.dumps(result), encoding="utf-8")


if __name__ == "__main__":  # pragma: no cover
    main()
