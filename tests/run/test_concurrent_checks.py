"""The flow's check chunks run at once in one process (``CHUNKS_AT_ONCE`` of them): they
share its pool job by job, and their reference runs take turns (each task's runs once)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from tasks.config import SandboxSettings
from tasks.quality.checker import CheckItem
from tasks.record.types import Task
from tasks.run import sandboxes
from tasks.sandbox import Limits, Sandbox

pytestmark = [pytest.mark.sandbox]

TESTS = "from solution import double\n\ndef test_double():\n    assert double(2) == 4\n"
REFERENCE = "def double(x):\n    return x * 2\n"
# Sleeps in its tests: a chunk's sandbox batch that lasts while the other chunk's runs.
SLOW = "```python\nimport time\n\ndef double(x):\n    time.sleep(0.5)\n    return 2 * x\n```"


class Watching:
    """The real sandbox; counts each code it runs and the batches in flight at once."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox, self.codes, self.now, self.most = sandbox, [], 0, 0
        self._lock = threading.Lock()

    @property
    def config(self):
        return self.sandbox.config

    def run(self, jobs):
        with self._lock:
            self.codes += [j.code for j in jobs]
            self.now += 1
            self.most = max(self.most, self.now)
        try:
            return self.sandbox.run(jobs)
        finally:
            with self._lock:
                self.now -= 1


def test_chunks_share_the_pool_and_run_each_reference_once(monkeypatch, tmp_path):
    task = Task(id="double", prompt="Write double(x).", tests=TESTS, reference=REFERENCE,
                entry_point="double")  # fmt: skip
    with Sandbox(Limits(cpu_s=2, wall_s=10, memory_mb=512), workers=2) as sb:
        watching = Watching(sb)
        shared = sandboxes.SharedPool(watching)  # type: ignore[arg-type]
        monkeypatch.setattr(sandboxes, "shared_sandbox", lambda settings: shared)
        chunks = [[CheckItem(task, SLOW + f"\n# sample {i}\n")] for i in range(3)]
        with ThreadPoolExecutor(3) as pool:
            done = list(pool.map(
                lambda items: sandboxes.run_checks(items, SandboxSettings(), None, str(tmp_path)),
                chunks,
            ))  # fmt: skip
    assert [[r.status for r in rows] for rows in done] == [["pass"]] * 3
    assert watching.codes.count(REFERENCE) == 1  # the later chunks read it from the store
    # Two chunks' samples ran at the same time, never three.
    assert watching.most == sandboxes.CHUNKS_AT_ONCE == 2
