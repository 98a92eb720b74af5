"""Aggregation at scale: ``summarize`` (scores, CIs, pairwise comparisons) over 1M rows.

Runs in a child process so its peak memory (``VmHWM`` from /proc/self/status)
belongs to this benchmark alone: building the synthetic table is included, and
its own share is reported too.
"""

from __future__ import annotations

import json
import subprocess
import sys

from bench.common import Outcome

TARGET_MB = 1.5 * 1024  # 1.5 GB (GiB), the limit on the child's peak resident memory


def vm_hwm_mb() -> float:
    """Peak resident set size of this process so far, in MiB (Linux)."""
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def load_synthetic():
    """tests/synthetic.py's generator: a test helper, loaded by path (not in the package)."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parent.parent / "tests" / "synthetic.py"
    spec = importlib.util.spec_from_file_location("vivek_tests_synthetic", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.synthetic_results


def child(n_models: int, n_tasks: int, n_samples: int) -> dict:
    """What the child measures (also callable in-process, e.g. by tests)."""
    import time

    from tasks.stats.summary import summarize

    synthetic_results = load_synthetic()

    base = vm_hwm_mb()
    start = time.perf_counter()
    shifts = [0.02 * i for i in range(n_models)]
    table = synthetic_results(n_models, n_tasks, n_samples, seed=7, shifts=shifts)
    built = time.perf_counter()
    after_build = vm_hwm_mb()
    result = summarize(table, seed=0)
    done = time.perf_counter()
    return {
        "rows": table.num_rows,
        "models": n_models,
        "tasks": n_tasks,
        "samples": n_samples,
        "build_s": built - start,
        "summarize_s": done - built,
        "comparisons": result.comparisons.num_rows,
        "winner": result.winner,
        "hwm_at_start_mb": base,
        "hwm_after_build_mb": after_build,
        "peak_mb": vm_hwm_mb(),
    }


def run(quick: bool = False) -> Outcome:
    grid = (2, 50, 10) if quick else (5, 2000, 100)
    proc = subprocess.run(
        [sys.executable, "-m", "bench.aggregation", *map(str, grid)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    m = json.loads(proc.stdout.strip().splitlines()[-1])
    met = m["peak_mb"] <= TARGET_MB
    notes = (
        f"{m['models']} models x {m['tasks']} tasks x {m['samples']} samples from "
        "tests/synthetic.py; summarize with its default 2000 bootstrap replicates and "
        f"{m['comparisons']} pairwise comparisons, in a child process; peak = its VmHWM "
        f"(table built: {m['hwm_after_build_mb']:.0f} MiB, interpreter and imports: "
        f"{m['hwm_at_start_mb']:.0f} MiB)."
    )
    if not met:
        notes += f" Missed: peak {m['peak_mb']:.0f} MiB over {TARGET_MB:.0f} MiB."
    return Outcome(
        name="aggregation",
        figure=f"aggregation, {m['rows']:,} rows (peak memory; time in details)",
        value=round(m["peak_mb"], 1),
        unit="MiB",
        target=f"<= {TARGET_MB:.0f} MiB",
        met=met,
        details={k: (round(v, 3) if isinstance(v, float) else v) for k, v in m.items()},
        notes=notes,
    )


if __name__ == "__main__":  # pragma: no cover - the child
    print(json.dumps(child(*map(int, sys.argv[1:4]))))
