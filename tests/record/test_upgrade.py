"""Results written before plus_passed, retried and first_status existed read with their meanings."""

from __future__ import annotations

import pyarrow as pa
from synthetic import table_of

from tasks.record.results import SCHEMA
from tasks.record.upgrade import upgrade_results

NEW = ("plus_passed", "retried", "first_status")


def _old(rows: list[dict]) -> pa.Table:
    """A table as checker version 3 wrote it: the new columns absent."""
    table = table_of([{"checker_version": "3", "model": "m", **r} for r in rows])
    return table.drop_columns(list(NEW))


def test_old_rows_get_plus_passed_from_their_extra_counts_and_were_never_retried():
    table = _old(
        [
            {"task_id": "t1", "status": "pass", "extra_tests_passed": 5, "extra_tests_total": 5},
            {"task_id": "t1", "status": "pass", "extra_tests_passed": 4, "extra_tests_total": 5},
            {"task_id": "t1", "status": "fail", "extra_tests_passed": 5, "extra_tests_total": 5},
            {"task_id": "t1", "status": "no_code"},  # never ran, on a task with extra tests
            {"task_id": "t2", "status": "pass"},  # a task without extra tests
            {"task_id": "t2", "status": "fail"},
            {"task_id": "t1", "status": "sandbox_error"},
        ]
    )
    up = upgrade_results(table)
    assert up.schema.equals(SCHEMA)
    assert up["plus_passed"].to_pylist() == [True, False, False, False, None, None, None]
    assert up["retried"].to_pylist() == [False] * 7
    assert up["first_status"].null_count == 7


def test_rows_that_have_the_columns_pass_through():
    table = table_of(
        [
            {"task_id": "t", "status": "pass", "plus_passed": None, "retried": True,
             "first_status": "timeout", "checker_version": "4"},
        ]
    )  # fmt: skip
    up = upgrade_results(table)
    assert up.to_pylist() == table.to_pylist()
