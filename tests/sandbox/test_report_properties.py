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
from tasks.sandbox.types import Job, Limits
from tasks.sandbox.verdict import FRAME_KINDS, decide

NONCE = "n0nce"
JOB = Job(
    code="def f():\n    return 1\n",
    tests=(
        "from solution import f\n\ndef test_a():\n    assert f() == 1\n\ndef test_b():\n    pass\n"
    ),
    extra_calls=("f()",),
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
                     "error", "message", "outputs", "value", "cpu_ms", "suite", "died",
                     "solution_errors"]),
    ANY,
    max_size=6,
)  # fmt: skip


@st.composite
def verdicts(draw) -> str:
    lines = []
    for _ in range(draw(st.integers(0, 8))):
        kind = draw(st.sampled_from([*FRAME_KINDS, "bogus"]))
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
    timed_out=st.booleans(),
    side=st.lists(st.text(), max_size=3),
    out=st.text(),
    test_sig=st.sampled_from([None, 9, 24]),
)
def test_any_report_gives_one_known_status(
    verdict, cpu, rss, wall, sig, code, timed_out, side, out, test_sig
):
    raw = {
        "verdict": verdict,
        "verdict_truncated": False,
        "stdout": out,
        "stdout_bytes": len(out),
        "stderr": "",
        "stderr_bytes": 0,
        "exit_code": code,
        "signal": sig,
        "cpu_ms": cpu,
        "maxrss_mb": rss,
        "wall_ms": wall,
        "wall_timeout": timed_out,
        "side_effects": side,
        "test_signal": test_sig,
        "test_exit_code": None if test_sig else 0,
        "test_cpu_ms": cpu,
    }
    res = decide(JOB, NONCE, raw, Limits())
    assert res.status in STATUSES
    assert isinstance(res.error, str) and len(res.error) <= 300
    assert res.tests_passed <= res.tests_total or res.status != "pass"
    if res.status == "pass":
        assert res.tests_passed == res.tests_total == 2
