"""The sandbox-report boundary: whatever the worker relays, one job gets one known status.

The verdict channel carries text the test process wrote about untrusted code (messages,
extra outputs, test names); the worker adds its own measurements. Random frames, bad JSON,
wrong types, huge numbers and lone surrogates must give an ``ExecResult`` with a status
from the taxonomy, never an exception that would cost the other jobs of the batch.
"""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tasks.record.types import STATUSES
from tasks.sandbox.inside.protocol import Frame, WorkerReport
from tasks.sandbox.types import Job
from tasks.sandbox.verdict import decide

NONCE = "n0nce"
JOB = Job(
    code="def f():\n    return 1\n",
    tests=(
        "from solution import f\n\ndef test_a():\n    assert f() == 1\n\ndef test_b():\n    pass\n"
    ),
    calls=("f()",),
)
ANY = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)
FIELDS = st.dictionaries(
    st.sampled_from(["ok", "name", "names", "cases", "passed", "failed", "errored", "oom",
                     "error", "message", "outputs", "lines", "complete", "suite", "died",
                     "solution_errors", "gone"]),
    ANY,
    max_size=6,
)  # fmt: skip


@st.composite
def verdicts(draw) -> str:
    lines = []
    for _ in range(draw(st.integers(0, 8))):
        kind = draw(st.sampled_from([*Frame.KINDS, "bogus"]))
        fields = {**draw(FIELDS), "kind": kind}
        line = NONCE + " " + json.dumps(fields)
        lines.append(draw(st.sampled_from([line, line[: len(line) // 2], draw(st.text())])))
    return "\n".join(lines)


NUMBER = st.one_of(st.integers(-(2**70), 2**70), st.floats(allow_nan=True))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    verdict=verdicts(),
    cpu=NUMBER,
    rss=NUMBER,
    wall=NUMBER,
    sig=st.sampled_from([None, 9, 24, 6]),
    code=st.sampled_from([None, 0, 1, 70]),
    limit=st.sampled_from(["", "cpu", "tree_cpu", "tester_cpu", "wall", "bogus"]),
    side=st.lists(st.text(), max_size=3),
    out=st.text(),
    test_sig=st.sampled_from([None, 9, 24]),
)
def test_any_report_gives_one_known_status(
    verdict, cpu, rss, wall, sig, code, limit, side, out, test_sig
):
    report = WorkerReport(
        stdout_len=len(out),
        stdout_bytes=len(out),
        stderr_len=0,
        stderr_bytes=0,
        exit_code=code,
        signal=sig,
        tester_exit_code=None if test_sig else 0,
        tester_signal=test_sig,
        tree_cpu_ms=cpu,
        tester_cpu_ms=cpu,
        peak_memory_mb=rss,
        maxrss_mb=rss,
        wall_ms=wall,
        limit=limit,
        limit_after_tests=bool(sig),
        side_effects=side,
    )
    res = decide(JOB, NONCE, report, verdict, out)
    assert res.status in STATUSES
    assert isinstance(res.error, str) and len(res.error) <= 300
    if res.tests_total is not None:
        assert 0 <= res.tests_passed <= res.tests_total
    else:
        assert res.tests_passed is None and res.status != "pass"  # not measured: null
    if res.status == "pass":
        assert res.tests_passed == res.tests_total == 2
