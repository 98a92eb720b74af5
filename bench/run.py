"""``make bench``: every benchmark side by side, written to results.json and results.md.

    python -m bench.run [--only NAME[,NAME]] [--quick] [--out DIR]

Each figure is a ratio against a baseline measured in the same run, so the
targets hold on any machine; the absolute times are in ``details``. A benchmark
that crashes is reported as missed, with the error in its notes.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path

from bench import prefect_env
from bench.common import Outcome, machine

# name -> module with ``run(quick: bool) -> Outcome``; run in this order.
BENCHMARKS = {
    "corpus_throughput": "bench.corpus_throughput",
    "check_throughput": "bench.check_throughput",
    "orchestration": "bench.orchestration",
    "provider_concurrency": "bench.concurrency",
    "shared_rate": "bench.shared_rate",
    "scale": "bench.scale",
    "cached_rerun": "bench.cached_rerun",
    "embedded_model": "bench.embedded",
    "aggregation": "bench.aggregation",
    "startup": "bench.startup",
    "harness_cost": "bench.harness_cost",
    "coverage_tools": "bench.coverage_tools",
}
OUT_DIR = Path(__file__).resolve().parent


def run_one(name: str, quick: bool) -> Outcome:
    try:
        return importlib.import_module(BENCHMARKS[name]).run(quick=quick)
    except Exception as exc:  # one broken benchmark must not hide the others' figures
        traceback.print_exc()
        return Outcome(
            name=name,
            figure=name,
            value=float("nan"),
            unit="",
            target="",
            met=False,
            notes=f"Failed to run: {exc.__class__.__name__}: {str(exc)[:300]}",
        )


def _fmt(value: float, unit: str) -> str:
    if value != value:  # NaN: the benchmark crashed
        return "error"
    if unit == "of ideal" or unit == "of first run":
        return f"{value:.1%} {unit}"
    if unit == "x":
        return f"{value:.2f}x"
    return f"{value:,.1f} {unit}"


def to_markdown(outcomes: Sequence[Outcome], box: dict, quick: bool, loads: Sequence[float]) -> str:
    """The results table, then the notes (one per benchmark)."""
    lines = [
        f"# Vivek benchmarks{' (quick sizes)' if quick else ''}",
        "",
        f"Machine: {box['cpu']}, {box['cores']} cores, Python {box['python']}, {box['date']}.",
        "",
        "| Benchmark | Figure | Measured | Target | Met | Load |",
        "|---|---|---|---|---|---|",
    ]
    for o, load in zip(outcomes, loads, strict=True):
        met = "yes" if o.met else "**no**"
        row = f"| {o.name} | {o.figure} | {_fmt(o.value, o.unit)} | {o.target} | {met} | {load} |"
        lines.append(row)
    lines += ["", "Load: the 1-minute load average when the benchmark started."]
    lines += ["", "Notes:", ""]
    lines += [f"- **{o.name}**: {o.notes}" for o in outcomes]
    return "\n".join(lines) + "\n"


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.splitlines()[0])
    p.add_argument("--only", help=f"comma-separated subset of: {', '.join(BENCHMARKS)}")
    p.add_argument("--quick", action="store_true", help="tiny sizes (the smoke test)")
    p.add_argument("--out", type=Path, help="folder for results.json/.md (default bench/)")
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse(argv)
    names = (
        [n.strip() for n in args.only.split(",") if n.strip()] if args.only else list(BENCHMARKS)
    )
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        print(
            f"bench: unknown benchmark {unknown[0]!r}; known: {', '.join(BENCHMARKS)}",
            file=sys.stderr,
        )
        return 2
    prefect_env.configure()  # before any benchmark imports Prefect
    outcomes, loads = [], []
    for name in names:
        print(f"== {name}", file=sys.stderr, flush=True)
        loads.append(round(os.getloadavg()[0], 2))  # the box may be shared: say how busy it was
        outcomes.append(run_one(name, args.quick))
    box = machine()
    out = args.out or OUT_DIR
    out.mkdir(parents=True, exist_ok=True)
    results = [
        {**o.to_dict(), "value": None if _failed(o) else o.value, "load_1m_before": load}
        for o, load in zip(outcomes, loads, strict=True)
    ]
    doc = {"machine": box, "quick": args.quick, "results": results}
    (out / "results.json").write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    table = to_markdown(outcomes, box, args.quick, loads)
    (out / "results.md").write_text(table, encoding="utf-8")
    print(table)
    # A missed target is a finding, not a failure; a benchmark that crashed is.
    return 1 if any(map(_failed, outcomes)) else 0


def _failed(outcome: Outcome) -> bool:
    return outcome.value != outcome.value  # NaN marks a benchmark that crashed


if __name__ == "__main__":
    raise SystemExit(main())
