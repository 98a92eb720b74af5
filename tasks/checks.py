"""The quality pipeline for a batch of completions: extract, analyse, run, score.

Cheap checks are batched (one ruff process per batch, one sandbox pool for all
jobs) because a task per sample would swamp Prefect's API. Results are cached by
content (code, tests, extra calls, checker version), so unchanged cells cost
nothing on a rerun.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tasks.cache import CheckStore, content_key
from tasks.extract import extract_for_task
from tasks.quality.differential import compare, declared_atol, derive_calls
from tasks.quality.score import Weights, score
from tasks.quality.static import StaticReport, analyze
from tasks.quality.style import ruff_batch
from tasks.records import Task
from tasks.sandbox.types import ExecResult, Job

CHECKER_VERSION = "1"

# Columns a row has when there was nothing to run: filled, never null.
EMPTY_CHECKS: dict[str, Any] = {
    "code": "",
    "syntax_valid": False,
    "imports_resolved": False,
    "missing_imports": [],
    "runs_without_error": False,
    "tests_passed": 0,
    "tests_total": 0,
    "tests_failed": 0,
    "extra_tests_passed": 0,
    "extra_tests_total": 0,
    "coverage": 0.0,
    "ruff_violations": 0,
    "ruff_codes": [],
    "follows_style_guide": False,
    "type_hint_ratio": 0.0,
    "docstring_ratio": 0.0,
    "execution_time_ms": 0.0,
    "peak_memory_mb": 0.0,
    "side_effects": [],
    "overall_score": 0.0,
    "score_breakdown": "{}",
}


@dataclass(frozen=True)
class CheckItem:
    """One completion to check against its task."""

    task: Task
    completion: str


def code_for(task: Task, completion: str) -> str:
    return extract_for_task(completion, task.prompt, task.entry_point, task.prompt_is_code)


def count_tests(tests: str) -> int:
    import ast

    tree = ast.parse(tests)
    return sum(
        1
        for node in tree.body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test")
    )


def empty_row(status: str, error: str, task: Task, code: str = "") -> dict[str, Any]:
    row = dict(EMPTY_CHECKS)
    row.update(status=status, error=error, code=code)
    with contextlib.suppress(SyntaxError):
        row["tests_total"] = row["tests_failed"] = count_tests(task.tests)
    return row


class Checker:
    """Checks batches of completions with one sandbox, optionally caching by content."""

    def __init__(
        self,
        sandbox,
        weights: Weights | None = None,
        store: CheckStore | None = None,
        limits: Mapping[str, Any] | None = None,
    ):
        self.sandbox = sandbox
        # Known limits let cache hits skip starting the sandbox at all.
        self._limits = json.dumps(dict(limits), sort_keys=True) if limits is not None else None
        self.weights = weights or Weights()
        self.store = store
        self._reference_outputs: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {}

    def _key(self, task: Task, code: str) -> str:
        return content_key(
            CHECKER_VERSION,
            code,
            task.tests,
            task.reference or "",
            task.entry_point or "",
            self._limits_key(),
        )

    def _limits_key(self) -> str:
        # Read from the sandbox once, not per item, when the caller did not pass limits.
        if self._limits is None:
            self._limits = json.dumps(self.sandbox.config.get("limits", {}), sort_keys=True)
        return self._limits

    def check(self, items: Sequence[CheckItem]) -> list[dict[str, Any]]:
        """Row fields (the check columns, ``status``, ``error``) for each item, in order."""
        rows: list[dict[str, Any] | None] = [None] * len(items)
        pending: list[tuple[int, CheckItem, str, StaticReport, str]] = []
        for i, item in enumerate(items):
            code = code_for(item.task, item.completion)
            if not code.strip():
                rows[i] = empty_row("no_code", "the reply contains no Python code", item.task)
                continue
            key = self._key(item.task, code)
            cached = self.store.get(key) if self.store else None
            if cached is not None:
                rows[i] = cached
                continue
            report = analyze(code)
            if not report.syntax_valid:
                row = empty_row(
                    "syntax_error", report.syntax_error or "invalid syntax", item.task, code
                )
                row.update(report.row_fields())
                rows[i] = row
                if self.store:
                    self.store.put(key, row)
                continue
            pending.append((i, item, code, report, key))
        if pending:
            self._run(pending, rows)
        return [r for r in rows if r is not None]

    def _prepare_references(self, tasks: Sequence[Task]) -> None:
        """Differential inputs per task and the reference's outputs, in one sandbox batch."""
        todo: dict[str, tuple[Task, tuple[str, ...]]] = {}
        for task in tasks:
            if task.id in self._reference_outputs or task.id in todo:
                continue
            calls = (
                derive_calls(task.tests, task.entry_point, reference=task.reference)
                if task.reference
                else ()
            )
            if calls:
                todo[task.id] = (task, calls)
            else:
                self._reference_outputs[task.id] = ((), ())
        if not todo:
            return
        jobs = [
            Job(code=t.reference or "", tests=t.tests, extra_calls=c, measure_coverage=False)
            for t, c in todo.values()
        ]
        for (task_id, (_, calls)), ref in zip(todo.items(), self.sandbox.run(jobs), strict=True):
            ok = len(ref.extra_outputs) == len(calls)
            self._reference_outputs[task_id] = (calls, ref.extra_outputs) if ok else ((), ())

    def _run(self, pending: list, rows: list) -> None:
        self._prepare_references([item.task for _, item, _, _, _ in pending])
        # Identical code for the same task is checked once per batch (temperature-0
        # samples often repeat); every copy gets the same verdict.
        unique: dict[str, int] = {}
        for n, (_, _, _, _, key) in enumerate(pending):
            unique.setdefault(key, n)
        firsts = [pending[n] for n in unique.values()]
        styles = ruff_batch([code for _, _, code, _, _ in firsts])
        jobs = []
        for _, item, code, _, _ in firsts:
            calls, _ = self._reference_outputs[item.task.id]
            jobs.append(Job(code=code, tests=item.task.tests, extra_calls=calls))
        results = self.sandbox.run(jobs)
        sandbox_cfg = json.dumps(self.sandbox.config, sort_keys=True, default=str)
        by_key: dict[str, dict[str, Any]] = {}
        for (_, item, code, report, key), style, res in zip(firsts, styles, results, strict=True):
            ref_out = self._reference_outputs[item.task.id][1]
            row = self._row(item.task, code, report, style, res, ref_out)
            row["sandbox"] = sandbox_cfg
            by_key[key] = row
            if self.store and res.status != "sandbox_error":
                self.store.put(key, row)
        for i, _, _, _, key in pending:
            rows[i] = dict(by_key[key])

    def _row(self, task, code, report: StaticReport, style, res: ExecResult, ref_out) -> dict:
        extra_passed, extra_total = (
            compare(ref_out, res.extra_outputs, atol=declared_atol(task.tests))
            if ref_out and res.extra_outputs
            else (0, 0)
        )
        # Collection can fail before any test runs: the total is what the task defines.
        total = res.tests_total or count_tests(task.tests)
        status = res.status
        if status == "import_error" or (status != "pass" and not res.runs_without_error):
            status = (
                "import_error" if report.missing_imports or status == "import_error" else status
            )
        row: dict[str, Any] = {
            "status": status,
            "error": "" if status == "pass" else res.error,
            "code": code,
            **report.row_fields(),
            "runs_without_error": res.runs_without_error,
            "tests_passed": res.tests_passed,
            "tests_total": total,
            "tests_failed": total - res.tests_passed,
            "extra_tests_passed": extra_passed,
            "extra_tests_total": extra_total,
            "coverage": res.coverage if res.coverage is not None else 0.0,
            "ruff_violations": style.violations,
            "ruff_codes": list(style.codes),
            "follows_style_guide": style.violations == 0,
            "execution_time_ms": res.execution_time_ms,
            "peak_memory_mb": res.peak_memory_mb,
            "side_effects": list(res.side_effects),
        }
        overall, breakdown = score(_score_fields(row, report), self.weights)
        row["overall_score"] = overall
        row["score_breakdown"] = json.dumps(breakdown, sort_keys=True)
        return row


def _score_fields(row: Mapping[str, Any], report: StaticReport) -> dict[str, Any]:
    return {
        **row,
        "dangerous_calls": list(report.dangerous_calls),
        "swallowed_exceptions": report.swallowed_exceptions,
        "print_calls": report.print_calls,
        "file_writes": report.file_writes,
        "global_statements": report.global_statements,
    }


def check_code(
    task: Task, codes: Sequence[str], sandbox, weights: Weights | None = None
) -> list[dict]:
    """Check already-extracted code strings for one task (calibration, tests)."""
    items = [CheckItem(task, f"```python\n{code}\n```") for code in codes]
    return Checker(sandbox, weights).check(items)
