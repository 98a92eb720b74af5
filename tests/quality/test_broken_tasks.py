"""A task the suite file could not define gives suite_error rows; the others still run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tasks.quality.checker import Checker, CheckItem
from tasks.sandbox import Sandbox
from tasks.suites.load import load_suite
from tests.sandbox.conftest import needs_bwrap

pytestmark = [pytest.mark.slow, pytest.mark.sandbox, needs_bwrap]
SLICE = Path(__file__).parents[1] / "data" / "mbpp_sanitized_slice.jsonl"


def test_broken_task_rows_are_suite_errors_with_the_reason(tmp_path):
    records = [json.loads(line) for line in SLICE.read_text().splitlines()]
    records[1]["code"] = "def sum(a, b:\n    return a + b"  # the reference does not parse
    path = tmp_path / "mbpp.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    circle, broken, _ = load_suite(str(path)).tasks
    # The answer uses the test's ``import math`` without importing it, as MBPP allows.
    answer = "```python\ndef circle_area(r):\n    return math.pi * r ** 2\n```"
    items = [CheckItem(broken, "def sum(a, b):\n    return a + b\n"), CheckItem(circle, answer)]
    with Sandbox(isolation="require") as sb:
        rows = Checker(sb, calibrate=False).check_fields(items)
    assert rows[0].status == "suite_error"
    assert rows[0].error == broken.broken and "field 'code' is not valid Python" in rows[0].error
    assert rows[0].tests_total is None and rows[0].overall_score is None
    assert rows[1].status == "pass", rows[1].error
    assert rows[1].assembly == "setup+reply" and rows[1].code.startswith("import math\n")
