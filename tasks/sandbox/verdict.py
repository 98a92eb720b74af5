"""Host-side verdict: turn what the worker observed into an ``ExecResult``.

Only frames carrying this sample's nonce count, and a job passes only when every test
the host itself counted in the test source reported exactly once and passed.
"""

from __future__ import annotations

import ast
import functools
import json
import signal
from typing import Any

from tasks.sandbox.types import ExecResult, Job, Limits

FRAME_KINDS = ("import", "collect", "test", "coverage", "extra", "done")


def expected_tests(tests: str) -> list[str] | None:
    """Test ids pytest would collect (``name`` or ``Class::name``); None if unparsable."""
    names = _expected(tests)
    return None if names is None else list(names)


@functools.lru_cache(maxsize=1024)  # a task's samples share one test source
def _expected(tests: str) -> tuple[str, ...] | None:
    try:
        tree = ast.parse(tests)
    except (SyntaxError, ValueError):
        return None
    names: dict[str, None] = {}
    kinds = (ast.FunctionDef, ast.AsyncFunctionDef)
    for node in tree.body:
        if isinstance(node, kinds) and node.name.startswith("test"):
            names[node.name] = None
        elif isinstance(node, ast.ClassDef) and node.name.startswith("Test"):
            for item in node.body:
                if isinstance(item, kinds) and item.name.startswith("test"):
                    names[f"{node.name}::{item.name}"] = None
    return tuple(names)


def parse_frames(raw: str, nonce: str) -> tuple[dict[str, list[dict]], int]:
    """Group this sample's frames by kind; also return how many lines were not valid frames."""
    frames: dict[str, list[dict]] = {kind: [] for kind in FRAME_KINDS}
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


def decide(job: Job, nonce: str, raw: dict[str, Any], limits: Limits) -> ExecResult:
    """The verdict on one job from the worker's raw report.

    The frames come from the test process, which the solution cannot reach; coverage
    and the solution's CPU time come from the solution's own process (self-reported).
    """
    frames, bad = parse_frames(raw["verdict"], nonce)
    imported = _one(frames, "import")
    loaded = bool(imported and imported.get("ok") is True)
    raised = any(_int(t.get("solution_errors")) for t in frames["test"])
    cov = _one(frames, "coverage")
    extra = _one(frames, "extra")
    side = list(raw["side_effects"])
    if raw["stdout_bytes"]:
        side.append(f"stdout: {raw['stdout_bytes']} bytes")
    cpu = cov.get("cpu_ms") if cov else None
    # Figures the solution's own process measured (it could distort them).
    self_reported = (["coverage"] if job.measure_coverage else []) + (
        ["execution_time_ms"] if _number(cpu) else []
    )
    base: dict[str, Any] = {
        "runs_without_error": loaded and not raised,
        "coverage": _coverage(cov) if job.measure_coverage and loaded else None,
        "execution_time_ms": round(cpu if _number(cpu) else raw["cpu_ms"], 3),
        "peak_memory_mb": round(_peak(raw), 3),
        "side_effects": tuple(side),
        "extra_outputs": tuple(str(o) for o in extra.get("outputs", []))[: len(job.extra_calls)]
        if extra and isinstance(extra.get("outputs"), list)
        else (),
        "stdout_tail": raw["stdout"][-2000:],
        "details": {
            "exit_code": raw["exit_code"],
            "signal": raw["signal"],
            "wall_ms": round(raw["wall_ms"], 3),
            "solution_cpu_ms_total": round(raw["cpu_ms"], 3),
            "test_cpu_ms": round(raw.get("test_cpu_ms", 0.0), 3),
            "bad_frames": bad,
            "stderr_tail": raw["stderr"][-1000:],
            "self_reported": self_reported,
            **{k: raw[k] for k in ("cgroup_oom_kills", "cgroup_peak_mb") if k in raw},
        },
    }
    status, error, counts = _status(job, frames, bad, raw, limits)
    if status == "timeout":  # killed by a limit: that is not the solution raising
        base["runs_without_error"] = loaded
    return ExecResult(status=status, error=error[:300], **counts, **base)


def _peak(raw: dict[str, Any]) -> float:
    """The solution process's peak RSS over its RSS at birth (the cgroup's peak, in
    ``details``, also counts the tester and what the sample's other processes used)."""
    for key in ("peak_memory_mb", "maxrss_mb"):
        if _number(raw.get(key)):
            return float(raw[key])
    return 0.0


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value >= 0


def _coverage(frame: dict | None) -> float | None:
    value = frame.get("value") if frame else None
    if isinstance(value, int | float) and 0.0 <= value <= 1.0:
        return float(value)
    return None


def _died(raw: dict[str, Any], prefix: str = "") -> str:
    sig, code = raw.get(f"{prefix}signal"), raw.get(f"{prefix}exit_code")
    if sig is not None:
        try:
            return f"killed by {signal.Signals(sig).name}"
        except ValueError:
            return f"killed by signal {sig}"
    return f"exited with code {code}"


def _timeout(raw: dict[str, Any], limits: Limits) -> str:
    # SIGXCPU only comes from RLIMIT_CPU; SIGKILL is its hard limit (a handler ignored it).
    cpu_out = raw["signal"] == signal.SIGXCPU or (
        raw["signal"] == signal.SIGKILL and raw["cpu_ms"] >= limits.cpu_s * 1000 * 0.9
    )
    if raw["wall_timeout"]:
        return "wall time limit exceeded"
    if cpu_out or raw.get("test_signal") == signal.SIGXCPU:
        return "CPU time limit exceeded"
    return ""


def _status(
    job: Job, frames: dict[str, list[dict]], bad: int, raw: dict[str, Any], limits: Limits
) -> tuple[str, str, dict[str, int]]:
    counts = {"tests_total": 0, "tests_passed": 0, "tests_failed": 0}
    expected = expected_tests(job.tests)
    tests = frames["test"]
    for t in tests:
        counts["tests_total"] += _int(t.get("cases"))
        counts["tests_passed"] += _int(t.get("passed"))
        counts["tests_failed"] += (
            _int(t.get("failed")) + _int(t.get("errored")) + _int(t.get("oom"))
        )
    # The cgroup saw the sample's tree hit its memory limit: oom, however slow it got.
    if _int(raw.get("cgroup_oom_kills")) > 0:
        return "oom", "memory limit exceeded (the sample's processes together)", counts
    why = _timeout(raw, limits)
    # Every test reported, none cut short by the kill (a killed solution makes the test
    # that was calling it error): the limit hit during the differential calls, which never
    # change the tests' verdict (their outputs then count as mismatches).
    finished = bool(expected) and [t.get("name") for t in tests] == expected
    if why and not (finished and not any(_int(t.get("errored")) for t in tests)):
        return "timeout", why, counts
    oom_frame = any(f.get("oom") for f in frames["import"] + tests)
    near_limit = raw["maxrss_mb"] >= 0.9 * limits.memory_mb
    if oom_frame or (raw["signal"] is not None and near_limit):
        return "oom", "memory limit exceeded", counts
    collect = _one(frames, "collect")
    if expected is None or (collect and collect.get("suite") and collect.get("ok") is not True):
        reason = collect.get("error", "") if collect else ""
        return "suite_error", str(reason or "test source does not parse"), counts
    imported = frames["import"]
    if len(imported) != 1:
        return "error", f"no verdict: test process {_died(raw, 'test_')}", counts
    if imported[0].get("ok") is not True:
        if imported[0].get("died"):
            return "module_error", f"process {_died(raw)} while loading the module", counts
        return "module_error", str(imported[0].get("error", "the module did not load")), counts
    if collect is None:
        return "error", f"no verdict: test process {_died(raw, 'test_')}", counts
    if collect.get("ok") is not True:
        return "error", str(collect.get("error", "")), counts
    if not expected:
        return "suite_error", "no tests found in the test source", counts
    names = [t.get("name") for t in tests]
    if names != expected:
        return (
            "error",
            (
                f"verdict incomplete: expected {len(expected)} tests, got {len(names)} "
                f"(test process {_died(raw, 'test_')})"
            ),
            counts,
        )
    if bad or raw["verdict_truncated"] or len(frames["done"]) != 1:
        return "error", f"malformed verdict channel (test process {_died(raw, 'test_')})", counts
    for t in tests:
        if t.get("suite"):
            return "suite_error", str(t["suite"]), counts
    for t in tests:
        if _int(t.get("errored")):
            return "error", f"{t['name']}: {t.get('message', '')}", counts
    for t in tests:
        if (
            _int(t.get("failed"))
            or _int(t.get("passed")) != _int(t.get("cases"))
            or not _int(t.get("cases"))
        ):
            return "fail", f"{t['name']}: {t.get('message', '')}", counts
    return "pass", "", counts


def _int(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0
