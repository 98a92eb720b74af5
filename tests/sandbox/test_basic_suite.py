"""The built-in suite through the separated harness: every reference passes, and the
crossing keeps what its tests rely on (identity of a returned argument, mutation of an
argument, generator arguments, callables passed in, datetimes, solution classes)."""

from __future__ import annotations

import pytest

from tasks.sandbox import Job, Limits, Sandbox
from tasks.suites.load import load_suite
from tests.sandbox.conftest import needs_bwrap

pytestmark = [pytest.mark.sandbox, needs_bwrap]


@pytest.fixture(scope="module")
def basic_sandbox():
    with Sandbox(Limits(cpu_s=5, wall_s=10), isolation="require") as sb:
        yield sb


def test_every_reference_passes(basic_sandbox):
    suite = load_suite("basic")
    results = basic_sandbox.run([Job(code=t.reference or "", tests=t.tests) for t in suite.tasks])
    failed = {t.id: (r.status, r.error) for t, r in zip(suite.tasks, results, strict=True)
              if r.status != "pass"}  # fmt: skip
    assert len(suite.tasks) >= 31
    assert failed == {}
