"""The quality pipeline for a batch of completions: assemble, analyse, run, score.

Per task, once: the reference runs under the task's tests in its own sandbox job
(``tasks.quality.timelimits``): a task whose reference fails is a ``suite_error`` for every
candidate, the reference's CPU time calibrates the limit, and its outputs are the expected
values of the differential calls (and of an EvalPlus task's visible tests). Per batch:
one ruff process, one sandbox pool for all jobs. Results are cached under the hash of
:class:`tasks.record.checks.CheckInputs` (code, tests, reference, entry point, prompt,
limits, score weights, checker and sandbox versions), so unchanged cells cost nothing on a
rerun; only clean verdicts are cached (the tester ended normally within its limits).
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import json
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tasks.quality.differential import compare, declared_atol, derive_calls
from tasks.quality.extract import Assembly, assemble
from tasks.quality.score import Weights, score
from tasks.quality.static import StaticReport, analyze
from tasks.quality.style import RuffReport, ruff_batch
from tasks.quality.timelimits import (
    ReferenceRun,
    ReferenceRuns,
    calibrated_cpu_s,
    derived_calls_key,
    reference_key,
)
from tasks.record.checks import (
    CENSORED,
    CHECKER_VERSION,
    CheckFields,
    CheckInputs,
    decide_status,
    plus_verdict,
)
from tasks.record.types import UNSCORED_STATUSES, Task
from tasks.run.cache import CheckStore
from tasks.sandbox.namespace import exports_for
from tasks.sandbox.pool import SANDBOX_VERSION
from tasks.sandbox.types import ExecResult, Exports, Job
from tasks.suites.evalplus import fill_expected

__all__ = ["CHECKER_VERSION", "CheckItem", "Checker"]


@dataclass(frozen=True)
class CheckItem:
    """One completion to check against its task."""

    task: Task
    completion: str


@dataclass(frozen=True)
class TaskPlan:
    """How a task's candidates run, decided once from the task and its reference's run.

    ``broken``: why the task cannot judge anyone (its rows are ``suite_error``);
    ``reference_outputs``: the expected outputs of ``calls`` (empty: no differential).
    """

    tests: str
    exports: Exports
    calls: tuple[str, ...]
    reference_outputs: tuple[str, ...]
    cpu_s: float | None
    broken: str = ""


def assembly_for(task: Task, completion: str) -> Assembly:
    return assemble(completion, task.prompt, task.entry_point, task.prompt_is_code, task.preamble)


@dataclass
class _Pending:
    index: int
    inputs: CheckInputs
    plan: TaskPlan
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
        plan_lock: contextlib.AbstractContextManager | None = None,
    ):
        self.sandbox = sandbox
        # Held while the references run: checkers sharing a pool (concurrent chunks) run
        # each task's reference once, the later ones read it from the store.
        self._plan_lock = plan_lock if plan_lock is not None else contextlib.nullcontext()
        # Known limits let cache hits skip starting the sandbox at all.
        self._limits = dict(limits) if limits is not None else None
        self.weights = weights or Weights()
        self.store = store
        # Each task's reference run (EvalPlus's rule for limits; see timelimits).
        self.calibrate = calibrate
        root = store.root if store is not None else None
        self.references = ReferenceRuns(root, read=store.read if store is not None else True)
        self._plans: dict[tuple, TaskPlan] = {}
        self._calls: dict[tuple, tuple[str, ...]] = {}
        # Seconds spent per stage, summed over every batch (``make bench`` prints them).
        self.timings: dict[str, float] = collections.defaultdict(float)

    @contextlib.contextmanager
    def _timed(self, stage: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.timings[stage] += time.perf_counter() - start

    # ------------------------------------------------------------ per task
    def _extra_calls(self, task: Task) -> tuple[str, ...]:
        """Differential inputs derived from the task (once per task, then from the cache)."""
        key = (task.tests, task.reference or "", task.entry_point or "")
        if key in self._calls:
            return self._calls[key]
        if not task.reference:
            self._calls[key] = ()
            return ()
        # Keyed by the deriving code itself, so a change to it never reads stale inputs.
        stored = derived_calls_key(*key)
        found = self.references.calls(stored)
        if found is None:
            found = tuple(derive_calls(task.tests, task.entry_point, reference=task.reference))
            self.references.put_calls(stored, found)
        self._calls[key] = found
        return found

    def _base_limits(self) -> dict[str, Any]:
        if self._limits is None:  # read from the sandbox once, not per item
            self._limits = dict(self.sandbox.config.get("limits", {}))
        return self._limits

    @staticmethod
    def _task_key(task: Task) -> tuple:
        return (task.tests, task.reference, task.entry_point, task.prompt, task.prompt_is_code,
                task.base_calls, task.broken or "")  # fmt: skip

    def _reference_job(self, task: Task) -> tuple[str, Job]:
        exports = exports_for(task.tests, task.entry_point, task.reference,
                              task.prompt, task.prompt_is_code)  # fmt: skip
        calls = task.base_calls + self._extra_calls(task)
        tests = None if task.base_calls else task.tests
        key = reference_key(CHECKER_VERSION, SANDBOX_VERSION, task.reference or "",
                            task.tests, json.dumps(calls), json.dumps(dataclasses.asdict(exports)),
                            json.dumps(self._base_limits(), sort_keys=True))  # fmt: skip
        # Untraced: nobody reads a reference's coverage, and tracing would only add its
        # cost to the run and to the CPU time that calibrates the candidates' limit.
        job = Job(task.reference or "", tests, exports, calls, len(task.base_calls),
                  measure_coverage=False)  # fmt: skip
        return key, job

    def _plan_tasks(self, tasks: Sequence[Task]) -> None:
        """Run every reference not yet known (one sandbox batch), then plan each task."""
        todo: dict[str, tuple[Task, Job]] = {}
        for task in tasks:
            if self._task_key(task) in self._plans or not task.reference or not self.calibrate:
                continue
            if task.broken:
                continue
            key, job = self._reference_job(task)
            if key not in todo and self.references.get(key) is None:
                todo[key] = (task, job)
        if todo:
            results = self.sandbox.run([job for _, job in todo.values()])
            for key, res in zip(todo, results, strict=True):
                if res.status == "sandbox_error":
                    continue  # ours, not the suite's: the task runs uncalibrated
                cpu = res.execution_time_ms if res.status == "pass" else None
                outputs = res.call_outputs or ()
                self.references.put(key, ReferenceRun(res.status, res.error, cpu, outputs))
        for task in tasks:
            if self._task_key(task) not in self._plans:
                self._plans[self._task_key(task)] = self._plan(task)

    def _plan(self, task: Task) -> TaskPlan:
        ceiling = self._base_limits().get("cpu_s")
        exports = exports_for(task.tests, task.entry_point, task.reference,
                              task.prompt, task.prompt_is_code)  # fmt: skip
        plain = TaskPlan(task.tests, exports, (), (), None)
        if task.broken:
            return dataclasses.replace(plain, broken=task.broken)
        if not task.reference or not self.calibrate:
            return plain
        key, job = self._reference_job(task)
        run = self.references.get(key)
        if run is None:  # the sandbox failed on the reference: judge without it
            return plain
        if not run.ok:
            return dataclasses.replace(plain, broken=_broken_reason(run))
        tests = task.tests
        n_base = len(task.base_calls)
        if n_base:
            tests, why = fill_expected(task.tests, run.outputs[:n_base])
            if why:
                return dataclasses.replace(plain, broken=why)
        calls = job.calls[n_base:]
        outputs = run.outputs[n_base:] if len(run.outputs) == len(job.calls) else ()
        cpu_s = calibrated_cpu_s(run.cpu_ms, ceiling) if isinstance(ceiling, int | float) else None
        return TaskPlan(tests, exports, calls if outputs else (), outputs, cpu_s)

    # ------------------------------------------------------------ per item
    def _inputs(self, task: Task, code: str, plan: TaskPlan) -> CheckInputs:
        limits = self._base_limits()
        if plan.cpu_s is not None:
            limits = {**limits, "cpu_s": plan.cpu_s}
        return CheckInputs(
            checker_version=f"{CHECKER_VERSION}/{SANDBOX_VERSION}",
            code=code,
            tests=plan.tests,
            reference=task.reference or "",
            entry_point=task.entry_point or "",
            prompt=task.prompt,
            extra_calls=plan.calls,
            limits=limits,
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

    def check_fields(self, items: Sequence[CheckItem]) -> list[CheckFields]:
        """The check columns, ``status`` and ``error`` of each item, in order."""
        rows: list[CheckFields | None] = [None] * len(items)
        pending: list[_Pending] = []
        with self._timed("assemble"):
            built_all = [assembly_for(item.task, item.completion) for item in items]
        # Limits and expected values are part of the cache key: know them first.
        with self._plan_lock, self._timed("references"):  # its turn, then its time
            self._plan_tasks(
                [it.task for it, b in zip(items, built_all, strict=True) if b.code.strip()]
            )
        for i, (item, built) in enumerate(zip(items, built_all, strict=True)):
            if not built.code.strip():
                rows[i] = CheckFields.no_code(built.path)
                continue
            plan = self._plans[self._task_key(item.task)]
            if plan.broken:
                rows[i] = CheckFields.suite_failed(plan.broken, built.code, built.path)
                continue
            inputs = self._inputs(item.task, built.code, plan)
            cached = self._cached(inputs.key())
            if cached is not None:
                rows[i] = dataclasses.replace(cached, assembly=built.path)
                continue
            with self._timed("static"):
                report = analyze(built.code)
            if not report.syntax_valid:
                rows[i] = CheckFields.syntax_error(built.code, built.path, report.syntax_error)
                if plan.reference_outputs:  # a task with extra tests: not a plus pass
                    rows[i] = dataclasses.replace(rows[i], plus_passed=False)
                self._put(inputs.key(), rows[i])
                continue
            pending.append(_Pending(i, inputs, plan, built.path, report))
        if pending:
            self._run(pending, rows)
        return [r for r in rows if r is not None]

    def _run(self, pending: list[_Pending], rows: list) -> None:
        # Identical inputs are checked once per batch (temperature-0 samples often
        # repeat); every copy gets the same verdict.
        firsts: dict[str, _Pending] = {}
        for p in pending:
            firsts.setdefault(p.inputs.key(), p)
        with self._timed("ruff"):
            styles = ruff_batch([p.inputs.code for p in firsts.values()])
        jobs = [
            Job(
                code=p.inputs.code,
                tests=p.plan.tests,
                exports=p.plan.exports,
                calls=p.plan.calls,
                cpu_s=p.inputs.limits.get("cpu_s"),
            )
            for p in firsts.values()
        ]
        with self._timed("sandbox"):
            results = self.sandbox.run(jobs)
        sandbox_cfg = json.dumps(self.sandbox.config, sort_keys=True, default=str)
        by_key: dict[str, CheckFields] = {}
        for (key, p), style, res in zip(firsts.items(), styles, results, strict=True):
            with self._timed("rows"):
                fields = self._fields(p, style, res, sandbox_cfg)
            by_key[key] = fields
            if res.clean:  # a verdict from a tester that misbehaved is never reused
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
        retry = {"retried": res.retried, "first_status": res.first_status}
        if status in UNSCORED_STATUSES:
            return CheckFields(
                status, error, inp.code, p.assembly, **static, sandbox=sandbox_cfg, **retry
            )
        ref_out = p.plan.reference_outputs
        # The differential calls run only after every visible test passed: otherwise
        # their share is not measured (null), never a guess.
        extra = (
            compare(ref_out, res.call_outputs, atol=declared_atol(inp.tests))
            if ref_out and res.call_outputs is not None
            else None
        )
        # Collection can fail before any test runs: the total is what the task defines.
        total = res.tests_total or count_tests(inp.tests)
        passed = res.tests_passed or 0
        measured = status not in CENSORED
        fields = CheckFields(
            status,
            error,
            inp.code,
            p.assembly,
            **static,
            runs_without_error=res.runs_without_error,
            tests_passed=passed,
            tests_total=total,
            tests_failed=total - passed,
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
            **retry,
        )
        overall, breakdown = score(_score_fields(fields, report), self.weights)
        return dataclasses.replace(
            fields, overall_score=overall, score_breakdown=json.dumps(breakdown, sort_keys=True)
        )


def count_tests(tests: str) -> int:
    from tasks.sandbox.verdict import expected_tests

    return len(expected_tests(tests) or ())


def _broken_reason(run: ReferenceRun) -> str:
    what = {"timeout": "does not finish within the limit", "oom": "runs out of memory"}
    said = what.get(run.status, f"gets {run.status} under its own tests")
    return f"the task's reference solution {said}: {run.error}"[:300].rstrip(": ")


def _score_fields(fields: CheckFields, report: StaticReport) -> dict[str, Any]:
    return {
        **fields.to_dict(),
        "dangerous_calls": list(report.dangerous_calls),
        "swallowed_exceptions": report.swallowed_exceptions,
        "print_calls": report.print_calls,
        "file_writes": report.file_writes,
        "global_statements": report.global_statements,
    }
