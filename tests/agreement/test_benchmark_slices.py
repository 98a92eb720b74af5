"""MBPP and EvalPlus slices through the sandbox: references pass, extra tests run."""

from __future__ import annotations

from pathlib import Path

import pytest

from tasks.quality.differential import compare, declared_atol, derive_calls
from tasks.sandbox import Job, Limits, Sandbox
from tasks.suites.load import load_suite
from tests.sandbox.conftest import needs_bwrap

pytestmark = [pytest.mark.sandbox, needs_bwrap]
DATA = Path(__file__).parents[1] / "data"
SLICES = ("mbpp_slice.jsonl", "humanevalplus_slice.jsonl", "mbppplus_slice.jsonl")


@pytest.fixture(scope="module")
def sb():
    with Sandbox(Limits(cpu_s=5, wall_s=10), isolation="require") as sandbox:
        yield sandbox


@pytest.mark.parametrize("name", SLICES)
def test_references_pass_and_get_extra_tests(sb, name):
    tasks = load_suite(str(DATA / name)).tasks
    calls = [derive_calls(t.tests, t.entry_point, reference=t.reference) for t in tasks]
    jobs = [
        Job(t.reference or "", t.tests, extra_calls=c) for t, c in zip(tasks, calls, strict=True)
    ]
    results = sb.run(jobs)
    assert {t.id: r.error for t, r in zip(tasks, results, strict=True) if r.status != "pass"} == {}
    covered = [
        t.id
        for t, r in zip(tasks, results, strict=True)
        if compare(r.extra_outputs, r.extra_outputs, atol=declared_atol(t.tests))[1] > 0
    ]
    print(f"\n{name}: {len(covered)}/{len(tasks)} tasks with extra tests")
    assert len(covered) >= 0.9 * len(tasks)


def test_a_wrong_solution_fails_the_base_tests_and_a_near_miss_the_extra_ones(sb):
    tasks = {t.id: t for t in load_suite(str(DATA / "humanevalplus_slice.jsonl")).tasks}
    mean = tasks["HumanEval/901"]
    wrong = mean.prompt + "    return xs[0]\n"
    close = mean.prompt + "    return sum(xs) / len(xs) + 1e-7\n"  # within atol: passes
    off = mean.prompt + "    return round(sum(xs) / len(xs), 1)\n"  # right on base inputs
    calls = derive_calls(mean.tests, mean.entry_point)
    ref, *runs = sb.run(
        [Job(code, mean.tests, extra_calls=calls) for code in (mean.reference, wrong, close, off)]
    )
    assert [r.status for r in runs] == ["fail", "pass", "pass"]
    atol = declared_atol(mean.tests)
    assert compare(ref.extra_outputs, runs[1].extra_outputs, atol=atol) == (3, 3)
    passed, total = compare(ref.extra_outputs, runs[2].extra_outputs, atol=atol)
    assert total == 3 and passed < total
