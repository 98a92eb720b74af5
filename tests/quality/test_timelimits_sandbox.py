"""Calibrated limits in the real sandbox: recorded per row, loops stopped at the floor,
remembered for reruns, and CPU time, so a loaded machine does not turn passes into timeouts."""

from __future__ import annotations

import multiprocessing
import os

import pytest

from tasks.quality.checker import Checker, CheckItem
from tasks.quality.timelimits import FLOOR_S
from tasks.record.types import Task
from tasks.run.cache import CheckStore
from tasks.sandbox import Limits, Sandbox
from tasks.suites.load import load_suite

pytestmark = [pytest.mark.slow, pytest.mark.sandbox]

TASK = Task(
    id="one",
    prompt="Write one() returning 1.",
    tests="from solution import one\n\ndef test_one():\n    assert one() == 1\n",
    reference="def one():\n    return 1\n",
    entry_point="one",
)


def _fenced(code: str) -> str:
    return f"```python\n{code}```\n"


def test_rows_record_the_calibrated_limit_and_loops_stop_at_it(tmp_path):
    store = CheckStore(str(tmp_path))
    with Sandbox(Limits(cpu_s=10.0, wall_s=30.0)) as sandbox:
        rows = Checker(sandbox, store=store).check_fields(
            [
                CheckItem(TASK, _fenced("def one():\n    return 1\n")),
                CheckItem(TASK, _fenced("def one():\n    while True:\n        pass\n")),
            ]
        )
    assert [r.status for r in rows] == ["pass", "timeout"]
    assert [r.cpu_limit_s for r in rows] == [FLOOR_S, FLOOR_S]

    class NoSandbox:
        config = {"limits": Limits(cpu_s=10.0, wall_s=30.0).to_dict()}

        def run(self, jobs):
            raise AssertionError("a rerun must not need the sandbox")

    again = Checker(NoSandbox(), store=store).check_fields(
        [CheckItem(TASK, _fenced("def one():\n    return 1\n"))]
    )
    assert again[0].status == "pass" and again[0].cpu_limit_s == FLOOR_S


def test_without_calibration_the_configured_limit_applies():
    with Sandbox(Limits(cpu_s=4.0, wall_s=30.0)) as sandbox:
        row = Checker(sandbox, calibrate=False).check_fields(
            [CheckItem(TASK, _fenced("def one():\n    return 1\n"))]
        )[0]
    assert row.status == "pass" and row.cpu_limit_s == 4.0


def _spin(stop) -> None:
    while not stop.is_set():
        pass


def test_canonical_solutions_pass_while_both_cores_are_busy():
    """164/164 under calibrated CPU limits with a load generator on every core."""
    suite = load_suite("humaneval")
    items = [CheckItem(t, t.reference[len(t.prompt) :]) for t in suite.tasks]
    stop = multiprocessing.Event()
    load = [multiprocessing.Process(target=_spin, args=(stop,)) for _ in range(os.cpu_count() or 2)]
    for p in load:
        p.start()
    try:
        with Sandbox() as sandbox:
            rows = Checker(sandbox).check_fields(items)
    finally:
        stop.set()
        for p in load:
            p.join()
    failed = {t.id: r.error for t, r in zip(suite.tasks, rows, strict=True) if r.status != "pass"}
    assert failed == {}
    assert all(r.cpu_limit_s <= 10.0 for r in rows)
