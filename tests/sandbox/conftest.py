"""Shared sandboxes for the sandbox tests: small limits keep hostile programs fast."""

from __future__ import annotations

import os

import pytest

from tasks.sandbox import ExecResult, Job, Limits, Sandbox, exports_for
from tasks.sandbox import bwrap as bwrap_mod
from tasks.suites.humaneval import humaneval_task

LIMITS = Limits(cpu_s=1, wall_s=3, memory_mb=256, nproc=32, fsize_mb=8, output_kb=16)
GOOD = Job(
    code="def add(a, b):\n    return a + b\n",
    tests="from solution import add\n\ndef test_add():\n    assert add(1, 2) == 3\n",
)
HAS_BWRAP = bwrap_mod.bwrap_version() is not None and os.geteuid() == 0
needs_bwrap = pytest.mark.skipif(not HAS_BWRAP, reason="bubblewrap (as root) is not available")


def uid_processes(uids: set[int]) -> list[int]:
    """Host pids (not zombies) owned by one of ``uids``."""
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            if os.stat(f"/proc/{name}").st_uid not in uids:
                continue
            with open(f"/proc/{name}/stat", "rb") as f:
                state = f.read().rsplit(b")", 1)[1].split()[0]
        except OSError:
            continue
        if state != b"Z":
            found.append(int(name))
    return found


@pytest.fixture(scope="session")
def sandbox():
    """The bubblewrap sandbox, two workers."""
    if not HAS_BWRAP:
        pytest.skip("bubblewrap (as root) is not available")
    with Sandbox(LIMITS, workers=2, isolation="require") as sb:
        yield sb


def humaneval_job(problem: dict, completion: str | None = None, **kw) -> Job:
    """The job for ``prompt + completion`` (the canonical solution by default), with the
    names the task defines, as the checker builds it."""
    task = humaneval_task(problem)
    body = problem["canonical_solution"] if completion is None else completion
    exports = exports_for(task.tests, task.entry_point, task.reference, task.prompt, True)
    return Job(code=problem["prompt"] + body, tests=task.tests, exports=exports, **kw)


def traced_run(sb: Sandbox, jobs: list[Job], attempts: int = 3) -> list[ExecResult]:
    """``sb.run(jobs)``, running again the jobs whose traced run hit a limit.

    Such a job is re-run untraced and its coverage is null by design (a verdict never
    depends on tracing); on a loaded machine (``make test`` runs two workers) that can
    happen to a canonical solution, so a test about coverage measures it once more.
    """
    results = sb.run(jobs)
    for _ in range(attempts - 1):
        again = [i for i, r in enumerate(results) if r.retried]
        if not again:
            break
        for i, r in zip(again, sb.run([jobs[i] for i in again]), strict=True):
            results[i] = r
    return results
