"""Test helpers for the checks: code strings through the whole checker, rows from checks.

Lives under tests/: it is not part of the product. Tests import it as ``checking``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from tasks.quality.checker import Checker, CheckItem
from tasks.quality.score import Weights
from tasks.record.checks import CheckFields
from tasks.record.row import Row
from tasks.record.types import Task
from tasks.run.generate import CellOutcome


def check_code(
    task: Task, codes: Sequence[str], sandbox, weights: Weights | None = None
) -> list[CheckFields]:
    """Check already-extracted code strings for one task (each sent as a fenced reply)."""
    items = [CheckItem(task, f"```python\n{code}\n```") for code in codes]
    return Checker(sandbox, weights).check_fields(items)


def assemble_row(
    run_id: str, suite: str, outcome: CellOutcome, checks: CheckFields | Mapping | None
) -> dict[str, Any]:
    """One row as a dict: checked when ``checks`` is given, else a generation failure."""
    if checks is None:
        return Row.generation_failed(run_id, suite, outcome).to_dict()
    return Row.checked(run_id, suite, outcome, checks).to_dict()
