"""The quality pipeline for a batch of completions: assemble, analyse, run, score.

Cheap checks are batched (one ruff process per batch, one sandbox pool for all
jobs) because a task per sample would swamp Prefect's API. Results are cached
under the hash of :class:`tasks.record.checks.CheckInputs` (code, tests, reference,
entry point, prompt, limits, score weights, checker version), so unchanged cells
cost nothing on a rerun and anything that would change a row changes the key.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tasks.quality.differential import compare, declared_atol, derive_calls
from tasks.quality.extract import Assembly, assemble
from tasks.quality.score import Weights, score
from tasks.quality.static import StaticReport, analyze
from tasks.quality.style import RuffReport, ruff_batch
from tasks.quality.timelimits import ReferenceTimes, calibrated_cpu_s, reference_key
from tasks.record.checks import (
    CENSORED,
    CHECKER_VERSION,
    NULL_CHECKS,
    CheckFields,
    CheckInputs,
    decide_status,
    plus_verdict,
)
from tasks.record.types import UNSCORED_STATUSES, Task
from tasks.run.cache import CheckStore
from tasks.sandbox.types import ExecResult, Job

__all__ = ["CHECKER_VERSION", "EMPTY_CHECKS", "CheckItem", "Checker", "check_code"]

# Deprecated name kept for callers not yet moved to CheckFields: every check column
# null ("not measured"), never a filled zero.
EMPTY_CHECKS: dict[str, Any] = dict(NULL_CHECKS)


@dataclass(frozen=True)
class CheckItem:
    """One completion to check against its task."""

    task: Task
    completion: str


def assembly_for(task: Task, completion: str) -> Assembly:
    return assemble(completion, task.prompt, task.entry_point, task.prompt_is_code)


def code_for(task: Task, completion: str) -> str:
    """The program checked for a completion (the benchmark reads it)."""
    return assembly_for(task, completion).code


def count_tests(tests: str) -> int:
    import ast

    try:
        tree = ast.parse(tests)
    except SyntaxError:
        return 0
    return sum(
        1
        for node in tree.body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test")
    )


@dataclass
class _Pending:
    index: int
    inputs: CheckInputs
    assembly: str
    report: StaticReport


class Checker:
    """Checks batches of completions with one sandbox, optionally caching by content."""

    def __init__(
        self,
        sandbox,
        weights: Weights | None = None,
        store: CheckStore | None = None,
        limits: Mapping[str, Any] | None = None,
        calibrate: bool = True,
    ):
        self.sandbox = sandbox
        # Known limits let cache hits skip starting the sandbox at all.
        self._limits = dict(limits) if limits is not None else None
        self.weights = weights or Weights()
        self.store = store
        # CPU limits calibrated to each task's reference (EvalPlus's rule; see timelimits).
        self.calibrate = calibrate
        self.reference_times = ReferenceTimes(store)
        self._reference_outputs: dict[tuple, tuple[tuple[str, ...], tuple[str, ...]]] = {}
        self._calls: dict[tuple, tuple[str, ...]] = {}

    def _extra_calls(self, task: Task) -> tuple[str, ...]:
        """Differential inputs derived from the task (once per task)."""
        key = (task.tests, task.reference or "", task.entry_point or "")
        if key not in self._calls:
            found = (
                derive_calls(task.tests, task.entry_point, reference=task.reference)
                if task.reference
                else ()
            )
            self._calls[key] = tuple(found)
        return self._calls[key]

    def _base_limits(self) -> dict[str, Any]:
        if self._limits is None:  # read from the sandbox once, not per item
            self._limits = dict(self.sandbox.config.get("limits", {}))
        return self._limits

    def _ref_key(self, task: Task) -> str:
        return reference_key(task.reference or "", task.tests, CHECKER_VERSION)

    def _task_limits(self, task: Task) -> dict[str, Any]:
        """The sandbox limits with the CPU limit calibrated to the task's reference."""
        limits = self._base_limits()
        ceiling = limits.get("cpu_s")
        if not self.calibrate or not task.reference or not isinstance(ceiling, int | float):
            return limits
        cpu_s = calibrated_cpu_s(self.reference_times.get(self._ref_key(task)), ceiling)
        return {**limits, "cpu_s": cpu_s}

    def _measure_references(self, tasks: Sequence[Task]) -> None:
        """Each reference's CPU time under its tests, once (then remembered)."""
        todo: dict[str, Task] = {}
        for task in tasks:
            key = self._ref_key(task)
            if task.reference and key not in todo and self.reference_times.get(key) is None:
                todo[key] = task
        if not todo:
            return
        # Measured as candidates run: with coverage and the differential calls.
        jobs = [Job(t.reference or "", t.tests, self._extra_calls(t)) for t in todo.values()]
        for (key, task), job, res in zip(todo.items(), jobs, self.sandbox.run(jobs), strict=True):
            cpu = res.details.get("solution_cpu_ms_total", res.execution_time_ms)
            if res.status == "pass" and isinstance(cpu, int | float):
                self.reference_times.put(key, float(cpu))
            # The same run gave the reference's differential outputs: keep them, so
            # _prepare_references need not run the reference a second time.
            ref_key = (task.tests, task.reference or "", task.entry_point or "")
            if job.extra_calls and len(res.extra_outputs) == len(job.extra_calls):
                self._reference_outputs.setdefault(ref_key, (job.extra_calls, res.extra_outputs))

    def _inputs(self, task: Task, code: str) -> CheckInputs:
        return CheckInputs(
            checker_version=CHECKER_VERSION,
            code=code,
            tests=task.tests,
            reference=task.reference or "",
            entry_point=task.entry_point or "",
            prompt=task.prompt,
            extra_calls=self._extra_calls(task),
            limits=self._task_limits(task),
            weights=dataclasses.asdict(self.weights),
        )

    def _cached(self, key: str) -> CheckFields | None:
        """A valid cache entry, or None: an entry that is not a check row counts as absent."""
        if self.store is None:
            return None
        try:
            return CheckFields.from_dict(self.store.get(key))
        except Exception:  # an unreadable entry is an absent one
            return None

    def _put(self, key: str, fields: CheckFields) -> None:
        if self.store is not None and fields.status not in UNSCORED_STATUSES:
            self.store.put(key, fields.to_dict())

    def check(self, items: Sequence[CheckItem]) -> list[dict[str, Any]]:
        """Row fields (the check columns, ``status``, ``error``) for each item, in order."""
        return [f.to_dict() for f in self.check_fields(items)]

    def check_fields(self, items: Sequence[CheckItem]) -> list[CheckFields]:
        rows: list[CheckFields | None] = [None] * len(items)
        pending: list[_Pending] = []
        built_all = [assembly_for(item.task, item.completion) for item in items]
        if self.calibrate:  # limits are part of the cache key: know them first
            self._measure_references(
                [it.task for it, b in zip(items, built_all, strict=True) if b.code.strip()]
            )
        for i, (item, built) in enumerate(zip(items, built_all, strict=True)):
            if not built.code.strip():
                rows[i] = CheckFields.no_code(built.path)
                continue
            inputs = self._inputs(item.task, built.code)
            cached = self._cached(inputs.key())
            if cached is not None:
                rows[i] = dataclasses.replace(cached, assembly=built.path)
                continue
            report = analyze(built.code)
            if not report.syntax_valid:
                rows[i] = CheckFields.syntax_error(built.code, built.path, report.syntax_error)
                self._put(inputs.key(), rows[i])
                continue
            pending.append(_Pending(i, inputs, built.path, report))
        if pending:
            self._run(pending, rows)
        return [r for r in rows if r is not None]

    def _prepare_references(self, inputs: Sequence[CheckInputs]) -> None:
        """Differential inputs per task and the reference's outputs, in one sandbox batch."""
        todo: dict[tuple, tuple[CheckInputs, tuple[str, ...]]] = {}
        for inp in inputs:
            ref_key = (inp.tests, inp.reference, inp.entry_point)
            if ref_key in self._reference_outputs or ref_key in todo:
                continue
            calls = inp.extra_calls
            if calls:
                todo[ref_key] = (inp, calls)
            else:
                self._reference_outputs[ref_key] = ((), ())
        if not todo:
            return
        jobs = [
            Job(code=inp.reference, tests=inp.tests, extra_calls=c, measure_coverage=False)
            for inp, c in todo.values()
        ]
        for (ref_key, (_, calls)), ref in zip(todo.items(), self.sandbox.run(jobs), strict=True):
            ok = len(ref.extra_outputs) == len(calls)
            self._reference_outputs[ref_key] = (calls, ref.extra_outputs) if ok else ((), ())

    def _reference(self, inp: CheckInputs) -> tuple[tuple[str, ...], tuple[str, ...]]:
        return self._reference_outputs[(inp.tests, inp.reference, inp.entry_point)]

    def _run(self, pending: list[_Pending], rows: list) -> None:
        self._prepare_references([p.inputs for p in pending])
        # Identical inputs are checked once per batch (temperature-0 samples often
        # repeat); every copy gets the same verdict.
        firsts: dict[str, _Pending] = {}
        for p in pending:
            firsts.setdefault(p.inputs.key(), p)
        styles = ruff_batch([p.inputs.code for p in firsts.values()])
        jobs = [
            Job(
                code=p.inputs.code,
                tests=p.inputs.tests,
                extra_calls=self._reference(p.inputs)[0],
                cpu_s=p.inputs.limits.get("cpu_s"),
            )
            for p in firsts.values()
        ]
        results = self.sandbox.run(jobs)
        sandbox_cfg = json.dumps(self.sandbox.config, sort_keys=True, default=str)
        by_key: dict[str, CheckFields] = {}
        for (key, p), style, res in zip(firsts.items(), styles, results, strict=True):
            fields = self._fields(p, style, res, sandbox_cfg)
            by_key[key] = fields
            self._put(key, fields)
        for p in pending:
            rows[p.index] = dataclasses.replace(by_key[p.inputs.key()], assembly=p.assembly)

    def _fields(
        self, p: _Pending, style: RuffReport, res: ExecResult, sandbox_cfg: str
    ) -> CheckFields:
        inp, report = p.inputs, p.report
        status = decide_status(inp.code, report.syntax_valid, res.status, report.missing_imports)
        static = {
            **report.row_fields(),
            "missing_imports": tuple(report.missing_imports),
            "ruff_violations": style.violations,
            "ruff_codes": tuple(style.codes),
            "follows_style_guide": style.violations == 0,
        }
        error = "" if status == "pass" else (res.error or status)
        if status != res.status and status == "sandbox_error":
            error = f"unknown sandbox verdict {res.status!r}: {res.error}"[:300]
        if status in UNSCORED_STATUSES:
            return CheckFields(status, error, inp.code, p.assembly, **static, sandbox=sandbox_cfg)
        ref_out = self._reference(inp)[1]
        extra = (
            compare(ref_out, res.extra_outputs, atol=declared_atol(inp.tests))
            if ref_out and res.extra_outputs
            else None
        )
        # Collection can fail before any test runs: the total is what the task defines.
        total = res.tests_total or count_tests(inp.tests)
        measured = status not in CENSORED
        fields = CheckFields(
            status,
            error,
            inp.code,
            p.assembly,
            **static,
            runs_without_error=res.runs_without_error,
            tests_passed=res.tests_passed,
            tests_total=total,
            tests_failed=total - res.tests_passed,
            extra_tests_passed=extra[0] if extra else None,
            extra_tests_total=extra[1] if extra else None,
            plus_passed=plus_verdict(
                status, extra[0] if extra else None, extra[1] if extra else None, bool(ref_out)
            ),
            coverage=res.coverage,
            execution_time_ms=res.execution_time_ms if measured else None,
            peak_memory_mb=res.peak_memory_mb if measured else None,
            cpu_limit_s=inp.limits.get("cpu_s"),
            side_effects=tuple(res.side_effects),
            sandbox=sandbox_cfg,
        )
        overall, breakdown = score(_score_fields(fields, report), self.weights)
        return dataclasses.replace(
            fields, overall_score=overall, score_breakdown=json.dumps(breakdown, sort_keys=True)
        )


def _score_fields(fields: CheckFields, report: StaticReport) -> dict[str, Any]:
    return {
        **fields.to_dict(),
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
