"""Host-side verdict: turn what the worker observed into an ``ExecResult``.

Only frames carrying this sample's nonce count, and a job passes only when every test the
host itself counted in the test source reported exactly once and passed.

Status precedence, in one place (``_status``):

1. The visible tests decide. When every test the host counted reported and none was cut
   short by the end of the solution's process, their outcome stands: ``pass``, ``fail``
   (an assertion), ``error`` (an exception, the solution's or a crossing refused),
   ``suite_error`` (the tests' own problem). A limit reached afterwards, during the
   differential calls or the goodbye, is recorded in ``details["limit_after_tests"]``
   (and the calls it cut short count as mismatches); it never changes the status.
2. Otherwise a limit explains the missing verdict: ``oom`` (the cgroup's OOM kill, a
   ``MemoryError``, or a kill near the memory limit), then ``timeout`` (the CPU time of
   the sample's processes, the tester's CPU time, or the wall clock).
3. Otherwise: ``module_error`` (the module did not load), ``suite_error`` (the tests do
   not parse or do not collect for a reason of their own), ``error`` (no complete verdict).
"""

from __future__ import annotations

import ast
import functools
import json
import signal
from typing import Any

from tasks.sandbox.inside.protocol import Frame, WorkerReport, collect_names
from tasks.sandbox.types import ExecResult, Job

# Errors that mean the verdict itself is not whole (never cached, never trusted twice).
ANOMALIES = ("no verdict", "verdict incomplete", "malformed verdict", "the calls did not complete")
LIMIT_WORDS = {
    "cpu": "CPU time limit exceeded",
    "tree_cpu": "CPU time limit exceeded (the sample's processes together)",
    "tester_cpu": "CPU time limit exceeded (the tests, on the solution's answers)",
    "wall": "wall time limit exceeded",
}


def expected_tests(tests: str | None) -> list[str] | None:
    """Test ids pytest would collect (``name`` or ``Class::name``); None if unparsable."""
    names = _expected(tests) if tests is not None else None
    return None if names is None else list(names)


@functools.lru_cache(maxsize=1024)  # a task's samples share one test source
def _expected(tests: str) -> tuple[str, ...] | None:
    try:
        return tuple(collect_names(ast.parse(tests)))
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def parse_frames(raw: str, nonce: str) -> tuple[dict[str, list[dict]], int]:
    """Group this sample's frames by kind; also return how many lines were not valid frames."""
    frames: dict[str, list[dict]] = {kind: [] for kind in Frame.KINDS}
    bad = 0
    prefix = nonce + " "
    for line in raw.splitlines():
        if not line.startswith(prefix):
            bad += 1
            continue
        try:
            frame = json.loads(line[len(prefix) :])
            frames[frame["kind"]].append(frame)
        except (ValueError, KeyError, TypeError):
            bad += 1
    return frames, bad


def _one(frames: dict[str, list[dict]], kind: str) -> dict | None:
    found = frames[kind]
    return found[0] if len(found) == 1 else None


def decide(
    job: Job, nonce: str, report: WorkerReport, verdict: str, stdout: str = "", stderr: str = ""
) -> ExecResult:
    """The verdict on one job from the worker's report and the tester's frames.

    The frames come from the tester, which the solution cannot reach; coverage alone
    comes from the solution's own process (self-reported).
    """
    frames, bad = parse_frames(verdict, nonce)
    imported = _one(frames, Frame.IMPORT)
    loaded = bool(imported and imported.get("ok") is True)
    tests = frames[Frame.TEST]
    raised = any(_int(t.get("solution_errors")) for t in tests)
    cov = _one(frames, Frame.COVERAGE)
    calls = _one(frames, Frame.CALLS)
    side = list(report.side_effects)
    if report.stdout_bytes:
        side.append(f"stdout: {report.stdout_bytes} bytes")
    status, error, after = _status(job, frames, bad, report)
    outputs = None
    if calls and isinstance(calls.get("outputs"), list):
        outputs = tuple(str(o) for o in calls["outputs"])[: len(job.calls)]
    clean = (
        report.tester_exit_code == 0
        and not report.limit
        and not error.startswith(ANOMALIES)
        and not bad
        and not report.verdict_truncated
        and len(frames[Frame.DONE]) == 1
    )
    details: dict[str, Any] = {
        "exit_code": report.exit_code,
        "signal": report.signal,
        "tester_exit_code": report.tester_exit_code,
        "tester_signal": report.tester_signal,
        "wall_ms": round(report.wall_ms, 3),
        "tree_cpu_ms": round(report.tree_cpu_ms, 3),
        "tester_cpu_ms": round(report.tester_cpu_ms, 3),
        "bad_frames": bad,
        "stderr_tail": stderr[-1000:],
        "self_reported": ["coverage"] if job.measure_coverage else [],
        "calls_complete": bool(calls and calls.get("complete") is True),
        "limit": report.limit,  # the worker's word: which limit it saw reached, or ""
    }
    if after:
        details["limit_after_tests"] = after
    for key in ("cgroup_oom_kills", "cgroup_peak_mb"):
        if getattr(report, key) is not None:
            details[key] = getattr(report, key)
    counted = bool(tests) or bool(_one(frames, Frame.COLLECT))
    total = sum(_int(t.get("cases")) for t in tests)
    passed = sum(_int(t.get("passed")) for t in tests)
    return ExecResult(
        status=status,
        error=error[:300],
        tests_total=total if counted else None,
        tests_passed=passed if counted else None,
        tests_failed=total - passed if counted else None,
        runs_without_error=loaded and (status == "timeout" or not raised),
        coverage=_coverage(job.code, cov) if job.measure_coverage and loaded else None,
        execution_time_ms=round(report.tree_cpu_ms, 3),
        peak_memory_mb=round(report.peak_memory_mb, 3),
        side_effects=tuple(side),
        call_outputs=outputs,
        stdout_tail=stdout[-2000:],
        clean=clean,
        details=details,
    )


def _coverage(code: str, frame: dict | None) -> float | None:
    lines = frame.get("lines") if frame else None
    if not isinstance(lines, list) or not all(type(n) is int for n in lines):
        return None
    return coverage_share(code, lines)


@functools.lru_cache(maxsize=256)
def _parser(code: str):
    from coverage.config import DEFAULT_EXCLUDE
    from coverage.misc import join_regex
    from coverage.parser import PythonParser

    parser = PythonParser(text=code or "\n", exclude=join_regex(DEFAULT_EXCLUDE))
    try:
        parser.parse_source()
    except Exception:  # coverage.py cannot read it: coverage is not measured
        return None
    return parser


def coverage_share(code: str, executed: list[int]) -> float | None:
    """Share of the code's statements executed, as coverage.py's ``analysis2`` counts them
    (a line of a multi-line statement counts for its statement)."""
    parser = _parser(code)
    wanted = parser.statements if parser is not None else None
    if not wanted:
        return None
    return len(parser.translate_lines(set(executed)) & wanted) / len(wanted)


def _died(code: int | None, sig: int | None) -> str:
    if sig is not None:
        try:
            return f"killed by {signal.Signals(sig).name}"
        except ValueError:
            return f"killed by signal {sig}"
    return f"exited with code {code}"


def _status(
    job: Job, frames: dict[str, list[dict]], bad: int, report: WorkerReport
) -> tuple[str, str, str]:
    """(status, error, limit reached after the tests or "")."""
    expected = expected_tests(job.tests) if job.tests is not None else []
    tests = frames[Frame.TEST]
    tester = _died(report.tester_exit_code, report.tester_signal)
    collect = _one(frames, Frame.COLLECT)
    imported = frames[Frame.IMPORT]
    loaded = len(imported) == 1 and imported[0].get("ok") is True
    names = [t.get("name") for t in tests]
    if any(f.get("oom") for f in imported + tests):  # a MemoryError while loading or testing
        return "oom", "memory limit exceeded", ""
    limit = report.limit
    if job.tests is None:  # a calls-only job (a reference's outputs)
        if loaded and any(f.get("complete") for f in frames[Frame.CALLS]):
            return "pass", "", ""
    else:
        finished = (
            loaded
            and expected is not None
            and collect is not None
            and names == expected
            and not any(t.get("gone") for t in tests)
        )
        if finished and limit and report.limit_after_tests:  # the limit is only recorded
            status, error = _tests_outcome(tests)
            return status, error, limit
    if limit == "oom":
        if _int(report.cgroup_oom_kills) > 0:
            return "oom", "memory limit exceeded (the sample's processes together)", ""
        return "oom", "memory limit exceeded (killed near the limit)", ""
    if limit:
        return "timeout", LIMIT_WORDS.get(limit, "time limit exceeded"), ""
    if expected is None or (collect and collect.get("suite") and collect.get("ok") is not True):
        reason = collect.get("error", "") if collect else ""
        return "suite_error", str(reason or "test source does not parse"), ""
    if len(imported) != 1:
        return "error", f"no verdict: the tester {tester}", ""
    if not loaded:
        if imported[0].get("died"):
            solution = _died(report.exit_code, report.signal)
            return "module_error", f"process {solution} while loading the module", ""
        return "module_error", str(imported[0].get("error", "the module did not load")), ""
    if job.tests is None:
        return "error", f"the calls did not complete (the tester {tester})", ""
    if collect is None:
        return "error", f"no verdict: the tester {tester}", ""
    if collect.get("ok") is not True:
        return "error", str(collect.get("error", "")), ""
    if not expected:
        return "suite_error", "no tests found in the test source", ""
    if names != expected:
        got = f"expected {len(expected)} tests, got {len(names)}"
        return "error", f"verdict incomplete: {got} (the tester {tester})", ""
    if bad or report.verdict_truncated or len(frames[Frame.DONE]) != 1:
        return "error", f"malformed verdict channel (the tester {tester})", ""
    status, error = _tests_outcome(tests)
    return status, error, ""


def _tests_outcome(tests: list[dict]) -> tuple[str, str]:
    """pass / fail / error / suite_error from complete test frames."""
    for t in tests:
        if t.get("suite"):
            return "suite_error", str(t["suite"])
    for t in tests:
        if _int(t.get("errored")):
            return "error", f"{t['name']}: {t.get('message', '')}"
    for t in tests:
        if (
            _int(t.get("failed"))
            or _int(t.get("passed")) != _int(t.get("cases"))
            or not _int(t.get("cases"))
        ):
            return "fail", f"{t['name']}: {t.get('message', '')}"
    return "pass", ""


def _int(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0
