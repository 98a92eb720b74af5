"""Canned model replies over the ``basic`` suite, shared by the operations tests.

Each task gets a kind of reply: ``ref`` (the reference in a python fence, passes),
``wrong`` (the entry point returning None, fails its tests) or ``prose`` (no code).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from tasks.record.types import Task
from tasks.suites.load import load_suite


def basic_tasks(limit: int) -> tuple[Task, ...]:
    return load_suite("basic", limit=limit).tasks


def reply(task: Task, kind: str) -> str:
    if kind == "ref":
        return f"Here it is.\n\n```python\n{task.reference}```\n"
    if kind == "wrong":
        return f"```python\ndef {task.entry_point}(*args, **kwargs):\n    return None\n```\n"
    if kind == "prose":
        return "Sorry, I cannot help with that."
    raise ValueError(kind)


EXPECTED_STATUS = {"ref": "pass", "wrong": "fail", "prose": "no_code"}


def write_replay(path: Path, tasks: Sequence[Task], kinds: dict[str, Sequence[str]]) -> Path:
    """A replay JSONL: ``kinds[task.id]`` lists the reply kind of each sample in order."""
    with path.open("w", encoding="utf-8") as fh:
        for task in tasks:
            for kind in kinds.get(task.id, ()):
                fh.write(json.dumps({"task_id": task.id, "completion": reply(task, kind)}) + "\n")
    return path
