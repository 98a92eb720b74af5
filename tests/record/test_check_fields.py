"""The typed record: the status rule, null for "not measured", the cache key, cache validation.

A fake sandbox stands in for the real one, so these run in milliseconds.
"""

from __future__ import annotations

import json
import typing
from dataclasses import fields

import pytest

from tasks.quality.checker import Checker, CheckItem
from tasks.quality.score import Weights
from tasks.quality.static import analyze
from tasks.record.checks import CHECK_COLUMNS, CheckFields, decide_status, plus_verdict
from tasks.record.results import SCHEMA, rows_to_table
from tasks.record.row import Row
from tasks.record.types import Generation, GenerationOptions, Task
from tasks.run.cache import CheckStore
from tasks.run.generate import CellOutcome
from tasks.sandbox.types import ExecResult

TASK = Task(
    id="add",
    prompt="Write add(a, b).",
    tests="from solution import add\n\ndef test_add():\n    assert add(1, 2) == 3\n",
    entry_point="add",
)
GOOD = "```python\ndef add(a, b):\n    return a + b\n```"


class FakeSandbox:
    """Answers every job with ``verdict`` and counts the jobs it ran."""

    config = {"limits": {"cpu_s": 1.0}}

    def __init__(self, verdict: ExecResult | None = None) -> None:
        self.verdict = verdict or ExecResult(
            "pass",
            1,
            1,
            0,
            True,
            coverage=1.0,
            execution_time_ms=2.0,
            peak_memory_mb=0.5,
            clean=True,
        )
        self.jobs = 0

    def run(self, jobs):
        self.jobs += len(jobs)
        return [self.verdict for _ in jobs]


@pytest.mark.parametrize(
    ("code", "sandbox", "missing", "expected"),
    [
        ("", None, (), "no_code"),
        ("   \n", None, (), "no_code"),
        ("def f(:\n", None, (), "syntax_error"),
        ("if True:\n\tx = 1\n        y = 2\n", None, (), "syntax_error"),  # TabError
        ("x = 1\n", "module_error", ("numpyy",), "import_error"),
        ("x = 1\n", "module_error", (), "module_error"),
        ("x = 1\n", "import_error", (), "module_error"),  # an older sandbox's name
        ("x = 1\n", "pass", (), "pass"),
        ("x = 1\n", "suite_error", (), "suite_error"),
        ("x = 1\n", "exploded", (), "sandbox_error"),
    ],
)
def test_the_status_is_decided_in_one_place(code, sandbox, missing, expected):
    assert decide_status(code, analyze(code).syntax_valid, sandbox, missing) == expected


# The results table's contract: names, order and types. Changing it is a schema version.
CONTRACT = (
    "run_id:string suite:string model:string provider:string task_id:string sample:int32 "
    "status:string retried:bool first_status:string error:string error_kind:string "
    "attempts:int32 completion:string code:string assembly:string syntax_valid:bool "
    "imports_resolved:bool missing_imports:list<item: string> runs_without_error:bool "
    "tests_passed:int32 tests_total:int32 tests_failed:int32 extra_tests_passed:int32 "
    "extra_tests_total:int32 plus_passed:bool coverage:double ruff_violations:int32 "
    "ruff_codes:list<item: string> follows_style_guide:bool type_hint_ratio:double "
    "docstring_ratio:double execution_time_ms:double peak_memory_mb:double cpu_limit_s:double "
    "side_effects:list<item: string> overall_score:double score_breakdown:string "
    "prompt_tokens:int64 completion_tokens:int64 latency_s:double cost_usd:double "
    "price_known:bool temperature:double temperature_sent:double max_tokens:int32 seed:int64 "
    "system_prompt:string finish_reason:string timestamp:string generation_key:string "
    "cached:bool sandbox:string checker_version:string"
)


def test_the_row_record_is_the_results_schema():
    assert " ".join(f"{f.name}:{f.type}" for f in SCHEMA) == CONTRACT
    assert SCHEMA.names == [f.name for f in fields(Row)]
    assert SCHEMA.metadata == {b"vivek_schema_version": b"3"}
    # Every column says what it holds, and when it is null where it can be.
    for f in SCHEMA:
        assert f.metadata[b"description"].decode().strip(), f.name
    # The check columns are the row's columns of the same names and types.
    row, checks = typing.get_type_hints(Row), typing.get_type_hints(CheckFields)
    assert set(CHECK_COLUMNS) <= set(row)
    for name in CHECK_COLUMNS:
        assert checks[name] == row[name], name


def _outcome(text: str | None, **kw) -> CellOutcome:
    gen = None if text is None else Generation(text=text, model="m:x", cost_usd=None, **kw)
    return CellOutcome("m:x", "m", "add", 0, "k", GenerationOptions(), generation=gen)


def test_each_outcome_has_a_constructor_and_nulls_what_it_did_not_measure():
    failed = Row.generation_failed("r", "s", _outcome(None))
    assert failed.status == "generation_error" and failed.overall_score == 0.0
    assert failed.coverage is None and failed.execution_time_ms is None
    assert failed.tests_total is None and failed.ruff_violations is None
    assert failed.price_known is None and failed.cost_usd is None
    broken = Row.sandbox_failed("r", "s", _outcome("x"), "checks failed: OSError")
    assert broken.status == "sandbox_error" and broken.overall_score is None
    unpriced = Row.checked("r", "s", _outcome("x", temperature_sent=0.3), CheckFields.no_code())
    assert unpriced.price_known is False and unpriced.temperature_sent == 0.3
    assert unpriced.temperature == GenerationOptions().temperature
    table = rows_to_table([failed, broken, unpriced])
    assert table.schema == SCHEMA and table.num_rows == 3


def test_an_empty_completion_is_no_code_not_a_generation_error():
    [row] = Checker(FakeSandbox()).check_fields([CheckItem(TASK, "")])
    assert row.status == "no_code" and row.assembly == "none"
    assert row.tests_total is None and row.coverage is None


def test_suite_errors_are_unscored_and_censored_runs_have_no_time():
    suite = FakeSandbox(ExecResult("suite_error", error="no tests found"))
    [row] = Checker(suite).check_fields([CheckItem(TASK, GOOD)])
    assert row.status == "suite_error" and row.overall_score is None
    assert row.tests_total is None and row.execution_time_ms is None
    assert row.syntax_valid is True  # static facts were still measured
    slow = FakeSandbox(ExecResult("timeout", 1, 0, 1, execution_time_ms=1000.0))
    [row] = Checker(slow).check_fields([CheckItem(TASK, GOOD)])
    assert row.status == "timeout" and row.execution_time_ms is None
    assert row.tests_total == 1 and row.overall_score == 0.0


def test_a_missing_package_is_an_import_error_any_other_load_failure_a_module_error():
    load = FakeSandbox(ExecResult("module_error", 1, 0, 1, error="ModuleNotFoundError"))
    missing = "```python\nimport numpyy_not_here\ndef add(a, b):\n    return a + b\n```"
    rows = Checker(load).check_fields([CheckItem(TASK, missing), CheckItem(TASK, GOOD)])
    assert [r.status for r in rows] == ["import_error", "module_error"]


def test_changing_score_weights_changes_the_score_on_a_cached_rerun(tmp_path):
    store = CheckStore(str(tmp_path))
    first = FakeSandbox()
    [a] = Checker(first, Weights(), store).check_fields([CheckItem(TASK, GOOD)])
    again = FakeSandbox()
    [b] = Checker(again, Weights(), store).check_fields([CheckItem(TASK, GOOD)])
    assert again.jobs == 0 and b == a  # a cache hit
    heavier = FakeSandbox()
    [c] = Checker(heavier, Weights(typing=0.9), store).check_fields([CheckItem(TASK, GOOD)])
    assert heavier.jobs == 1 and c.overall_score < a.overall_score


@pytest.mark.parametrize("entry", [[], {"status": "pass"}, {"x": 1}, "text", None])
def test_a_cache_entry_that_is_not_a_check_row_is_treated_as_absent(tmp_path, entry):
    store = CheckStore(str(tmp_path))
    [first] = Checker(FakeSandbox(), Weights(), store).check_fields([CheckItem(TASK, GOOD)])
    for path in tmp_path.rglob("*.json"):
        path.write_text(json.dumps(entry))
    sandbox = FakeSandbox()
    [row] = Checker(sandbox, Weights(), store).check_fields([CheckItem(TASK, GOOD)])
    assert sandbox.jobs == 1 and row == first


def test_only_clean_verdicts_are_cached(tmp_path):
    """A verdict from a tester that ended abnormally (killed, over a limit, an incomplete
    verdict) is used once and never served again from the cache."""
    store = CheckStore(str(tmp_path))
    dirty = FakeSandbox(ExecResult("pass", 1, 1, 0, True, clean=False))
    Checker(dirty, Weights(), store).check_fields([CheckItem(TASK, GOOD)])
    again = FakeSandbox()
    Checker(again, Weights(), store).check_fields([CheckItem(TASK, GOOD)])
    assert again.jobs == 1  # not served from the cache: run again


def test_check_fields_round_trip_through_json():
    [row] = Checker(FakeSandbox()).check_fields([CheckItem(TASK, GOOD)])
    back = CheckFields.from_dict(json.loads(json.dumps(row.to_dict())))
    assert back == row


@pytest.mark.parametrize(
    ("status", "passed", "total", "task_has_extra", "expected"),
    [
        ("pass", 10, 10, True, True),
        ("pass", 9, 10, True, False),
        ("fail", 10, 10, True, False),
        # Differential calls skipped because the visible tests failed: still not a plus pass.
        ("fail", None, None, True, False),
        ("timeout", None, None, True, False),
        ("no_code", None, None, True, False),
        ("pass", None, None, False, None),  # the task has no extra tests
        ("fail", None, None, False, None),
        ("pass", None, None, True, None),  # extra calls did not run: not measured
        ("sandbox_error", None, None, True, None),  # unscored
        ("suite_error", 3, 3, True, None),
    ],
)
def test_plus_verdict_is_one_rule(status, passed, total, task_has_extra, expected):
    assert plus_verdict(status, passed, total, task_has_extra) is expected


REFERENCE = "def add(a, b):\n    return b + a\n"  # not GOOD's code: the fake tells them apart
PLUS_TASK = Task(
    id="add", prompt=TASK.prompt, tests=TASK.tests, entry_point="add", reference=REFERENCE
)


class ExtraSandbox(FakeSandbox):
    """The reference answers '1' to every extra call; a candidate gets ``status`` and,
    when ``wrong``, one different answer (or none at all with ``skip_extra``)."""

    def __init__(self, status: str = "pass", wrong: bool = False, skip_extra: bool = False):
        super().__init__()
        self.status, self.wrong, self.skip_extra = status, wrong, skip_extra

    def run(self, jobs):
        self.jobs += len(jobs)
        out = []
        for job in jobs:
            answers = ["1"] * len(job.calls)
            candidate = job.code != REFERENCE
            if candidate and self.wrong and answers:
                answers[-1] = "2"
            outputs = None if candidate and self.skip_extra else tuple(answers)
            status = self.status if candidate else "pass"
            passed = int(status == "pass")
            out.append(
                ExecResult(status, 1, passed, 1 - passed, True, call_outputs=outputs, clean=True)
            )
        return out


def test_the_checker_records_plus_passed_from_the_reference_outputs():
    def check(task, sandbox):
        [row] = Checker(sandbox).check_fields([CheckItem(task, GOOD)])
        return row

    right = check(PLUS_TASK, ExtraSandbox())
    assert right.extra_tests_total and right.plus_passed is True
    wrong = check(PLUS_TASK, ExtraSandbox(wrong=True))
    assert wrong.status == "pass" and wrong.plus_passed is False
    # The visible tests failed and the differential calls were not run: False, not null.
    failed = check(PLUS_TASK, ExtraSandbox(status="fail", skip_extra=True))
    assert failed.extra_tests_total is None and failed.plus_passed is False
    # No reference, so no extra tests: not measured.
    assert check(TASK, ExtraSandbox()).plus_passed is None


def test_every_row_says_whether_its_verdict_was_retried():
    rows = [
        Row.generation_failed("r", "s", _outcome(None)),
        Row.sandbox_failed("r", "s", _outcome("x"), "checks failed"),
        Row.checked("r", "s", _outcome("x"), CheckFields.no_code()),
    ]
    assert [(r.retried, r.first_status) for r in rows] == [(False, None)] * 3
    again = CheckFields("pass", "", "x = 1", retried=True, first_status="timeout")
    row = Row.checked("r", "s", _outcome("x"), again)
    assert (row.retried, row.first_status) == (True, "timeout")
