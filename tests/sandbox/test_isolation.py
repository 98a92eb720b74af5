"""No sample can read another's code, tests or output (issue 20.3).

Every process of a sample is forked from the worker: whatever the worker received or
relayed for an earlier sample would be in the memory a later one inherits. An attacker
scans that memory; the host reads the worker's own memory after a run.
"""

from __future__ import annotations

import os
import uuid

import pytest

from tasks.sandbox import Job, Sandbox
from tests.sandbox.conftest import GOOD, HAS_BWRAP, LIMITS

pytestmark = pytest.mark.sandbox


SPY = """
import ctypes
import re

TOKEN = re.compile(rb"VICTIM-[0-9a-f]{24}")
SEEN = set()
with open("/proc/self/maps") as maps:
    for line in maps:
        fields = line.split()
        private = len(fields) == 5 or fields[-1] in ("[heap]", "[stack]")
        if len(fields) < 5 or not fields[1].startswith("rw") or not private:
            continue
        start, end = (int(x, 16) for x in fields[0].split("-"))
        try:
            SEEN.update(m.decode() for m in TOKEN.findall(ctypes.string_at(start, end - start)))
        except Exception:
            continue


def f():
    return sorted(SEEN)
"""


@pytest.mark.parametrize("backend", ["bwrap", "none"])
def test_no_sample_finds_an_earlier_samples_code_output_or_tests(backend):
    """Issue 20.3: every process of a sample is forked from the worker; nothing another
    sample sent or printed may be in the memory it inherits (another model's code, its
    output, the tests)."""
    if backend == "bwrap" and not HAS_BWRAP:
        pytest.skip("bubblewrap (as root) is not available")
    marks = [f"VICTIM-{uuid.uuid4().hex[:24]}" for _ in range(4)]
    # Small, as most answers are: freed small objects keep their bytes in Python's arenas.
    victim = Job(
        code=f"# {marks[0]}\nimport sys\nprint('{marks[1]}')\nsys.stderr.write('{marks[2]}')\n"
        "def f():\n    return 1\n",
        tests=f"# {marks[3]}\nfrom solution import f\n\n\ndef test_f():\n    assert f() == 1\n",
    )
    spy_tests = "from solution import f\n\n\ndef test_f():\n    assert f() == 'seen', f()\n"
    isolation = "require" if backend == "bwrap" else "none"
    with Sandbox(LIMITS, workers=1, isolation=isolation) as sb:
        # An honest job in between, as in a real run: the victim's freed memory is not
        # simply reused by the spy's own job (which would hide a leak from this test).
        first, _, spy = sb.run([victim, GOOD, Job(code=SPY, tests=spy_tests)])
    assert first.status == "pass" and marks[1] in first.stdout_tail
    assert spy.status == "fail"  # it ran, and said what it found
    assert not [m for m in marks if m in spy.error], spy.error


def _worker_pids(sb: Sandbox) -> list[int]:
    """The worker processes (inside bubblewrap, bwrap's descendants running the worker)."""
    found = []
    for w in sb._workers:
        todo = [w.proc.pid]
        while todo:
            pid = todo.pop()
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
            if b"bwrap" not in argv[0] and b"vivek_inside" in b" ".join(argv):
                found.append(pid)
                continue
            with open(f"/proc/{pid}/task/{pid}/children") as f:
                todo += [int(c) for c in f.read().split()]
    return found


def _memory(pid: int) -> bytes:
    """The writable private memory of a process (as root, which may read any process)."""
    chunks = []
    with open(f"/proc/{pid}/maps") as maps, open(f"/proc/{pid}/mem", "rb", 0) as mem:
        for line in maps:
            fields = line.split()
            if not fields[1].startswith("rw") or (len(fields) > 5 and fields[-1][0] == "/"):
                continue
            start, end = (int(x, 16) for x in fields[0].split("-"))
            try:
                mem.seek(start)
                chunks.append(mem.read(end - start))
            except OSError:
                continue
    return b"".join(chunks)


@pytest.mark.parametrize("backend", ["bwrap", "none"])
def test_the_worker_never_holds_a_samples_code_tests_or_output(backend):
    """The invariant behind the spy test: whatever a sample sends or prints passes through
    the worker in the kernel only (splice), so the memory every later fork inherits has
    none of it."""
    if os.geteuid() != 0 or (backend == "bwrap" and not HAS_BWRAP):
        pytest.skip("reading another process's memory needs root (and bwrap for bwrap)")
    marks = [f"VICTIM-{uuid.uuid4().hex[:24]}".encode() for _ in range(4)]
    victim = Job(
        code=f"# {marks[0].decode()}\nimport sys\nprint('{marks[1].decode()}')\n"
        f"sys.stderr.write('{marks[2].decode()}')\ndef f():\n    return 1\n",
        tests=f"# {marks[3].decode()}\nfrom solution import f\n\n\ndef test_f():\n"
        "    assert f() == 1\n",
    )
    isolation = "require" if backend == "bwrap" else "none"
    with Sandbox(LIMITS, workers=1, isolation=isolation) as sb:
        assert sb.run([victim])[0].status == "pass"
        (pid,) = _worker_pids(sb)
        memory = _memory(pid)
    assert len(memory) > 2**20  # it did read the worker's heap
    assert [m for m in marks if m in memory] == []
