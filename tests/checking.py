"""Test helpers for the checks: code strings through the whole checker, rows from checks.

Lives under tests/: it is not part of the product. Tests import it as ``checking``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tasks.quality.checker import Checker, CheckItem
from tasks.quality.score import Weights
from tasks.record.checks import CheckFields
from tasks.record.row import Row
from tasks.record.types import Task
from tasks.run.generate import CellOutcome
from tasks.sandbox import Job, exports_for


def check_code(
    task: Task, codes: Sequence[str], sandbox, weights: Weights | None = None
) -> list[CheckFields]:
    """Check already-extracted code strings for one task (each sent as a fenced reply)."""
    items = [CheckItem(task, f"```python\n{code}\n```") for code in codes]
    return Checker(sandbox, weights).check_fields(items)


def assemble_row(
    run_id: str, suite: str, outcome: CellOutcome, checks: CheckFields | None
) -> dict[str, Any]:
    """One row as a dict: checked when ``checks`` is given, else a generation failure."""
    if checks is None:
        return Row.generation_failed(run_id, suite, outcome).to_dict()
    return Row.checked(run_id, suite, outcome, checks).to_dict()


def task_job(task: Task, code: str, calls: Sequence[str] = (), **kw: Any) -> Job:
    """A sandbox job for ``code`` under the task's tests, seeing the names the task defines
    (as the checker builds it)."""
    exports = exports_for(task.tests, task.entry_point, task.reference, task.prompt,
                          task.prompt_is_code)  # fmt: skip
    return Job(code=code, tests=task.tests, exports=exports, calls=tuple(calls), **kw)


def reply_for(task: Task, code: str) -> str:
    """A model's reply that assembles to ``code``: the continuation of a code prompt, else
    the code in a fence."""
    if task.prompt_is_code and code.startswith(task.prompt):
        return code[len(task.prompt) :]
    return f"```python\n{code}\n```"
