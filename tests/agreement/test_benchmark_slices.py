"""MBPP and EvalPlus slices through the checker: references pass, extra tests run."""

from __future__ import annotations

from pathlib import Path

import pytest
from checking import reply_for

from tasks.quality.checker import Checker, CheckItem
from tasks.sandbox import Limits, Sandbox
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
    rows = Checker(sb).check_fields([CheckItem(t, reply_for(t, t.reference or "")) for t in tasks])
    assert {t.id: r.error for t, r in zip(tasks, rows, strict=True) if r.status != "pass"} == {}
    covered = [t.id for t, r in zip(tasks, rows, strict=True) if (r.extra_tests_total or 0) > 0]
    print(f"\n{name}: {len(covered)}/{len(tasks)} tasks with extra tests")
    assert len(covered) >= 0.9 * len(tasks)
    assert all(r.plus_passed is True for t, r in zip(tasks, rows, strict=True) if t.id in covered)


def test_a_wrong_solution_fails_the_base_tests_and_a_near_miss_the_extra_ones(sb):
    tasks = {t.id: t for t in load_suite(str(DATA / "humanevalplus_slice.jsonl")).tasks}
    mean = tasks["HumanEval/901"]
    wrong = "    return xs[0]\n"
    close = "    return sum(xs) / len(xs) + 1e-7\n"  # within atol: passes
    off = "    return round(sum(xs) / len(xs), 1)\n"  # right on the base inputs only
    rows = Checker(sb).check_fields([CheckItem(mean, body) for body in (wrong, close, off)])
    assert [r.status for r in rows] == ["fail", "pass", "pass"]
    assert rows[1].extra_tests_passed == rows[1].extra_tests_total == 3
    assert rows[1].plus_passed is True
    assert rows[2].extra_tests_total == 3 and rows[2].extra_tests_passed < 3
    assert rows[2].plus_passed is False and rows[0].plus_passed is False
