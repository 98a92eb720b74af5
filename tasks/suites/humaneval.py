"""HumanEval problems as sandbox jobs."""

from __future__ import annotations

from tasks.sandbox.types import Job


def humaneval_tests(problem: dict) -> str:
    """A pytest-style test module for one HumanEval problem (its ``check`` as one test)."""
    entry = problem["entry_point"]
    return (
        f"from solution import *\nfrom solution import {entry}\n{problem['test']}\n\n"
        f"def test_check():\n    check({entry})\n"
    )


def humaneval_job(problem: dict, completion: str | None = None) -> Job:
    """The job for ``prompt + completion`` (the canonical solution by default)."""
    body = problem["canonical_solution"] if completion is None else completion
    return Job(code=problem["prompt"] + body, tests=humaneval_tests(problem))
