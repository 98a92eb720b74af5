"""The quality pipeline over whole built-in suites: references pass, every column is filled."""

from __future__ import annotations

import pytest
from checking import assemble_row, check_code
from nulls import FILLED_WITHOUT_GENERATION, NULLABLE, RUNTIME, STATIC
from synthetic import table_of

from tasks.quality.checker import Checker, CheckItem
from tasks.record.results import COLUMN_NAMES
from tasks.record.types import Generation, GenerationOptions
from tasks.run.generate import CellOutcome
from tasks.sandbox import Sandbox
from tasks.suites.load import load_suite

pytestmark = [pytest.mark.slow, pytest.mark.sandbox]


@pytest.fixture(scope="module")
def sandbox():
    with Sandbox() as sb:
        yield sb


def fenced(code: str) -> str:
    return f"Here it is:\n```python\n{code}```\n"


def test_every_basic_reference_passes_its_tests_and_its_differential_checks(sandbox):
    suite = load_suite("basic")
    rows = Checker(sandbox).check_fields([CheckItem(t, fenced(t.reference)) for t in suite.tasks])
    for task, row in zip(suite.tasks, rows, strict=True):
        assert row.status == "pass", (task.id, row.error)
        assert row.tests_passed == row.tests_total > 0, task.id
        assert row.extra_tests_passed == row.extra_tests_total, task.id
        assert row.overall_score > 0.8, (task.id, row.score_breakdown)
    assert sum((r.extra_tests_total or 0) > 0 for r in rows) >= 20  # differential inputs exist


def test_wrong_and_memorising_solutions_are_told_apart(sandbox):
    task = next(t for t in load_suite("basic").tasks if t.id == "fibonacci")
    memorised = (
        "def fibonacci(n):\n"
        "    if not isinstance(n, int) or isinstance(n, bool):\n"
        "        raise TypeError('n')\n"
        "    if n < 0:\n"
        "        raise ValueError('n')\n"
        "    return {0: 0, 1: 1, 2: 1, 10: 55, 20: 6765, 50: 12586269025,\n"
        "            90: 2880067194370816120, 1000: 0}.get(n, 0)\n"
    )
    good, wrong, memo = check_code(
        task, [task.reference, "def fibonacci(n):\n    return n\n", memorised], sandbox
    )
    assert good.status == "pass" and wrong.status == "fail" and memo.status == "fail"
    # The verdict is known once a visible test fails: the hidden inputs are not run.
    assert good.extra_tests_passed == good.extra_tests_total > 0
    assert memo.extra_tests_total is None and wrong.extra_tests_total is None
    assert good.overall_score > memo.overall_score > wrong.overall_score - 1e-9


def test_every_column_is_filled_over_basic_and_humaneval(sandbox):
    basic = load_suite("basic")
    humaneval = load_suite("humaneval")
    items = [CheckItem(t, fenced(t.reference)) for t in basic.tasks]
    # HumanEval replies as a base model writes them: the body only, continuing the prompt.
    items += [CheckItem(t, t.reference[len(t.prompt) :]) for t in humaneval.tasks]
    items += [
        CheckItem(basic.tasks[0], "I would rather not."),
        CheckItem(basic.tasks[1], fenced("def (:")),
    ]
    checks = Checker(sandbox).check_fields(items)
    assert sum(c.status == "pass" for c in checks) == len(basic.tasks) + len(humaneval.tasks)
    assert [c.status for c in checks[-2:]] == ["no_code", "syntax_error"]
    rows = []
    for i, (item, check) in enumerate(zip(items, checks, strict=True)):
        gen = Generation(
            text=item.completion,
            model="m:x",
            prompt_tokens=5,
            completion_tokens=7,
            latency_s=0.1,
            timestamp="2026-12-04T00:00:00+00:00",
        )
        outcome = CellOutcome(
            "m:x", "m", item.task.id, i, f"k{i}", GenerationOptions(), generation=gen
        )
        rows.append(assemble_row("run", "mixed", outcome, check))
    failed = CellOutcome(
        "m:x", "m", "t", 0, "k", GenerationOptions(), error="boom", error_kind="transient"
    )
    rows.append(assemble_row("run", "mixed", failed, None))
    table = table_of(rows).to_pylist()
    checked, (no_code, syntax), failed_row = table[:-3], table[-3:-1], table[-1]
    for row in checked:
        empty = {n for n in COLUMN_NAMES if row[n] is None} - NULLABLE
        assert not empty, (row["task_id"], empty)
    assert {n for n in COLUMN_NAMES if no_code[n] is None} - NULLABLE == (
        RUNTIME | STATIC | {"syntax_valid"}
    )
    assert no_code["code"] == "" and no_code["assembly"] == "none"
    assert {n for n in COLUMN_NAMES if syntax[n] is None} - NULLABLE == RUNTIME | STATIC
    assert syntax["syntax_valid"] is False and syntax["overall_score"] == 0.0
    assert {n for n in COLUMN_NAMES if failed_row[n] is not None} == FILLED_WITHOUT_GENERATION
    assert failed_row["status"] == "generation_error" and failed_row["error"] == "boom"
    assert failed_row["price_known"] is None  # nothing to price, not an unknown price
