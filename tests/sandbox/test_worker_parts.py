"""The in-sandbox worker's parts, run in-process: coverage share, work dir, leftovers."""

from __future__ import annotations

import os
import time

import pytest

from tasks.sandbox.inside import procs as _procs
from tasks.sandbox.inside import solution_process
from tasks.sandbox.inside import workdir as _workdir
from tasks.sandbox.inside import worker as _worker
from tasks.sandbox.verdict import coverage_share

SIGN = "def sign(x):\n    if x > 0:\n        return 1\n    return -1\n"


def test_coverage_share_counts_statements_like_coverage_py():
    assert coverage_share(SIGN, [1, 2, 3]) == pytest.approx(0.75)
    multi = "x = (1,\n     2)\ny = 3  # pragma: no cover\n"
    assert coverage_share(multi, [2]) == 1.0  # line 2 maps to its statement, line 1
    assert coverage_share("", []) is None
    assert coverage_share("def f(:\n", [1]) is None  # coverage.py cannot read it: null


def test_slipcover_records_the_lines_a_solution_executes(tmp_path):
    tools = _worker.Tools()
    path = tmp_path / "solution.py"
    path.write_text(SIGN + "\nsign(5)\n")
    solution_process.load(str(path), tools.slip.instrument)
    assert solution_process.executed_lines(tools.slip, str(path)) == {1, 2, 3, 6}


def test_clean_work_dir_is_removed_without_side_effects(tmp_path):
    work = str(tmp_path / "run")
    _workdir.prepare(work, "x = 1\n", None)
    assert os.listdir(work) == ["solution.py"]  # never a test file
    assert _workdir.clean(work) == []
    assert not os.path.exists(work)
    _workdir.prepare(work, "x = 1\n", None)
    os.mkdir(os.path.join(work, "sub"))
    with open(os.path.join(work, "sub", "f.txt"), "w") as f:
        f.write("abc")
    assert _workdir.clean(work) == ["sub/f.txt: 3 bytes"]
    assert not os.path.exists(work)


def test_a_samples_mess_is_listed_and_removed(tmp_path):
    """3,000 nested dirs, an undecodable name, symlinks, an unreadable dir (issue 13)."""
    work = str(tmp_path / "run")
    _workdir.prepare(work, "x = 1\n", None)
    fd = os.open(work, os.O_RDONLY)
    for _ in range(3000):  # deeper than PATH_MAX and the recursion limit
        os.mkdir("d", dir_fd=fd)
        sub = os.open("d", os.O_RDONLY, dir_fd=fd)
        os.close(fd)
        fd = sub
    os.close(fd)
    with open(os.path.join(os.fsencode(work), b"\xff-name"), "wb") as f:
        f.write(b"12")
    os.symlink("/etc", os.path.join(work, "etc-link"))
    os.symlink("d", os.path.join(work, "dir-link"))
    os.mkdir(os.path.join(work, "closed"))
    open(os.path.join(work, "closed", "inside"), "w").close()
    os.chmod(os.path.join(work, "closed"), 0)
    found = _workdir.clean(work)
    assert "\\xff-name: 2 bytes" in found
    assert "etc-link -> /etc" in found and "dir-link -> d" in found
    assert any(f.endswith(": deeper, not listed") for f in found)
    assert all(f.encode("utf-8") for f in found)
    assert not os.path.exists(work)


def test_kill_all_reaps_every_leftover():
    """In a forked helper (pytest's own children must survive): leftovers die, reaped."""
    helper = os.fork()
    if helper == 0:  # pragma: no cover - the helper reports through its exit code
        code = 1
        try:
            sleepers = []
            for _ in range(3):
                pid = os.fork()
                if pid == 0:
                    time.sleep(60)
                    os._exit(0)
                sleepers.append(pid)
            _procs.kill_all((None,))
            gone = all(not os.path.exists(f"/proc/{p}") for p in sleepers)
            try:
                os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                code = 0 if gone else 2
        finally:
            os._exit(code)
    _, status = os.waitpid(helper, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0


class _NoKills:
    def oom_kills_so_far(self) -> int:
        return 0


def _limit_of(t_sig, tester_ms: float, tests_done: bool = False) -> tuple[str, bool]:
    """``Sample._limit`` for a tester that ended with ``t_sig`` after ``tester_ms`` of CPU."""
    from types import SimpleNamespace

    sample = SimpleNamespace(
        limits={"cpu_s": 1, "memory_mb": 256}, cgroup=_NoKills(), limit="", limit_after=False,
        tests_done=tests_done, solution_ended_after=False,
    )  # fmt: skip
    rusage = SimpleNamespace(ru_maxrss=10_000, ru_utime=0.01, ru_stime=0.0)
    return _worker.Sample._limit(sample, None, rusage, t_sig, tester_ms, 0.0)


def test_the_testers_cpu_limit_is_its_sigxcpu_whatever_its_rusage_says():
    # Seen under `pytest -n 2`: a tester in `while True` killed by SIGXCPU at its 1 s
    # limit whose rusage said 520 ms; it was reported as an error, not the timeout it was.
    import signal

    assert _limit_of(signal.SIGXCPU, 520.0) == ("tester_cpu", False)
    assert _limit_of(signal.SIGKILL, 950.0) == ("tester_cpu", False)
    assert _limit_of(signal.SIGKILL, 100.0) == ("", False)  # killed for another reason
    assert _limit_of(signal.SIGXCPU, 520.0, tests_done=True) == ("tester_cpu", True)
