"""A suite is checked before it is trusted: each task's reference runs first, in its own job.

Its run decides whether the task can judge anyone (a failing or hanging reference makes
every candidate's row a ``suite_error`` with the reason, and no candidate runs), gives
the expected values of an EvalPlus task's visible tests, and is remembered for reruns.
"""

from __future__ import annotations

import pytest

from tasks.quality import checker as checker_module
from tasks.quality import timelimits
from tasks.quality.checker import Checker, CheckItem
from tasks.quality.timelimits import ReferenceRuns, derived_calls_key
from tasks.record.types import Task
from tasks.run.cache import CheckStore
from tasks.sandbox import Limits, Sandbox
from tasks.suites import evalplus as ep

pytestmark = [pytest.mark.sandbox]

TESTS = "from solution import double\n\ndef test_double():\n    assert double(2) == 4\n"
RIGHT = "```python\ndef double(x):\n    return 2 * x\n```"
WRONG = "```python\ndef double(x):\n    return x + 2\n```"


def task(**over) -> Task:
    fields = {
        "id": "double",
        "prompt": "Write double(x).",
        "tests": TESTS,
        "reference": "def double(x):\n    return x * 2\n",
        "entry_point": "double",
    }
    return Task(**{**fields, **over})


@pytest.fixture(scope="module")
def sandbox():
    with Sandbox(Limits(cpu_s=2, wall_s=10, memory_mb=512), workers=2) as sb:
        yield sb


class Counting:
    """The real sandbox, counting the jobs of each kind it was given."""

    def __init__(self, sandbox) -> None:
        self.sandbox, self.codes, self.traced = sandbox, [], []

    @property
    def config(self):
        return self.sandbox.config

    def run(self, jobs):
        self.codes += [j.code for j in jobs]
        self.traced += [j.measure_coverage for j in jobs]
        return self.sandbox.run(jobs)


def test_a_task_whose_reference_fails_judges_nobody(sandbox):
    broken = task(reference="def double(x):\n    return x * 3\n")
    counting = Counting(sandbox)
    rows = Checker(counting).check_fields([CheckItem(broken, RIGHT), CheckItem(broken, WRONG)])
    assert [r.status for r in rows] == ["suite_error", "suite_error"]
    assert rows[0].error.startswith("the task's reference solution gets fail under its own tests")
    assert rows[0].overall_score is None and rows[0].tests_total is None  # unscored, not run
    assert counting.codes == [broken.reference]  # only the reference ran


def test_tests_that_hang_are_the_suites_fault_not_the_models(sandbox):
    hanging = task(tests=TESTS + "\ndef test_forever():\n    while True:\n        pass\n")
    [row] = Checker(sandbox).check_fields([CheckItem(hanging, RIGHT)])
    assert row.status == "suite_error"
    assert "does not finish within the limit" in row.error


def test_evalplus_expected_values_come_from_the_reference_in_its_own_job(sandbox):
    base, plus = [[1], [2], [3]], [[10], [-4]]
    plus_task = task(
        tests=ep.tests_template("double", base, plus, 0.0), base_calls=ep.base_calls("double", base)
    )
    counting = Counting(sandbox)
    right, wrong = Checker(counting).check_fields(
        [CheckItem(plus_task, RIGHT), CheckItem(plus_task, WRONG)]
    )
    assert (right.status, right.tests_total, right.plus_passed) == ("pass", 3, True)
    assert right.extra_tests_passed == right.extra_tests_total == 2
    assert wrong.status == "fail" and "expected 4, got 4" not in wrong.error
    assert (
        counting.codes[0] == plus_task.reference and plus_task.reference not in counting.codes[1:]
    )
    raising = task(
        tests=ep.tests_template("double", [[1], ["x"]], [], 0.0),
        base_calls=ep.base_calls("double", [[1], ["x"]]),
        reference=(
            "def double(x):\n    if x == 'x':\n        raise ValueError(x)\n    return 2 * x\n"
        ),
    )
    [row] = Checker(sandbox).check_fields([CheckItem(raising, RIGHT)])
    assert (row.status, row.error) == (
        "suite_error",
        "the task's reference raises ValueError on visible input 1",
    )


def test_a_rerun_needs_no_reference_run_and_derives_no_input(sandbox, tmp_path, monkeypatch):
    store = CheckStore(str(tmp_path))
    [first] = Checker(sandbox, store=store).check_fields([CheckItem(task(), WRONG)])
    assert first.extra_tests_total  # differential inputs were derived and run

    def derive(*args, **kwargs):
        raise AssertionError("derived again")

    monkeypatch.setattr(checker_module, "derive_calls", derive)
    counting = Counting(sandbox)
    [row] = Checker(counting, store=CheckStore(str(tmp_path))).check_fields(
        [CheckItem(task(), RIGHT)]
    )
    assert row.status == "pass" and counting.codes == ["def double(x):\n    return 2 * x\n"]
    assert row.extra_tests_total == first.extra_tests_total


def test_unreadable_derived_inputs_are_derived_again(tmp_path, monkeypatch):
    runs = ReferenceRuns(str(tmp_path))
    key = derived_calls_key("tests", "reference", "f")
    assert runs.calls(key) is None
    runs.put_calls(key, ("f(1)", "f(2)"))
    assert ReferenceRuns(str(tmp_path)).calls(key) == ("f(1)", "f(2)")
    assert ReferenceRuns(str(tmp_path), read=False).calls(key) is None  # --fresh
    [path] = (tmp_path / "derived-calls").rglob("*.json")
    for garbage in ('{"calls": [1, 2]}', '{"calls": "f(1)"}', "[]", "{not json"):
        path.write_text(garbage)
        assert ReferenceRuns(str(tmp_path)).calls(key) is None, garbage
    assert ReferenceRuns(None).calls(key) is None  # no cache root: nothing stored
    # The deriving code is part of the key: a change to it reads nothing stale.
    monkeypatch.setattr(timelimits, "_deriving_code", lambda: "edited")
    assert derived_calls_key("tests", "reference", "f") != key


def test_a_verdict_that_depends_on_tracing_is_retried_and_says_so(sandbox):
    traced = (
        "```python\ndef double(x):\n"
        "    if ''.join(['__slip', 'cover__']) in double.__code__.co_consts:\n"
        "        while True:\n            pass\n    return x * 2\n```"
    )
    [row] = Checker(sandbox).check_fields([CheckItem(task(), traced)])
    assert (row.status, row.retried, row.first_status) == ("pass", True, "timeout")
    assert row.coverage is None and row.execution_time_ms is not None


def test_the_reference_runs_untraced_and_its_candidates_traced(sandbox):
    """Nobody reads a reference's coverage: tracing it would only cost time and inflate the
    CPU time that calibrates the candidates' limit."""
    counting = Counting(sandbox)
    [row] = Checker(counting).check_fields([CheckItem(task(), RIGHT)])
    assert counting.codes[0] == task().reference and counting.traced == [False, True]
    assert row.status == "pass" and row.coverage == 1.0
