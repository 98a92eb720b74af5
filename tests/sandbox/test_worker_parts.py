"""The in-sandbox worker's parts, run in-process: coverage share, work dir, leftovers."""

from __future__ import annotations

import os
import sys
import time

import pytest

sys.argv = sys.argv or ["pytest"]
sys.path.append(os.path.join(os.path.dirname(__file__), "..", "..", "tasks", "sandbox"))
import _child  # noqa: E402
import _worker  # noqa: E402

sys.path.pop()

SIGN = "def sign(x):\n    if x > 0:\n        return 1\n    return -1\n"


def test_coverage_share_counts_statements_like_coverage_py():
    parser = _child.parse_statements(SIGN, "#\\s*pragma: no cover")
    assert parser.statements == {1, 2, 3, 4}
    assert _child.coverage_share(parser, {1, 2, 3}) == pytest.approx(0.75)
    multi = _child.parse_statements("x = (1,\n     2)\ny = 3  # pragma: no cover\n", "no cover")
    assert _child.coverage_share(multi, {2}) == 1.0  # line 2 maps to its statement, line 1
    assert _child.coverage_share(_child.parse_statements("", "x"), set()) is None


def test_warm_up_caches_file_decisions(tmp_path):
    cov, exclude = _worker.warm_up(str(tmp_path / "run"))
    assert "pragma" in exclude
    assert os.__file__ in cov._collector.should_trace_cache
    assert _child.executed_lines(cov) == set()


def test_clean_work_dir_is_removed_without_side_effects(tmp_path):
    work = str(tmp_path / "run")
    job = {"code": "x = 1\n", "tests": "def test_a():\n    pass\n"}
    _worker._prepare(work, job, None)
    assert _worker._side_effects_and_clean(work) == []
    assert not os.path.exists(work)
    _worker._prepare(work, job, None)
    os.unlink(os.path.join(work, _worker.TESTS))
    os.mkdir(os.path.join(work, "sub"))
    with open(os.path.join(work, "sub", "f.txt"), "w") as f:
        f.write("abc")
    assert _worker._side_effects_and_clean(work) == [
        "deleted: test_solution.py",
        "sub/f.txt: 3 bytes",
    ]
    assert not os.path.exists(work)


def test_compile_tests_is_cached():
    a = _worker.compile_tests("def test_a():\n    pass\n", "/x/test_solution.py")
    assert a is _worker.compile_tests("def test_a():\n    pass\n", "/x/test_solution.py")


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
            _worker._kill_all(sleepers[0], None)
            gone = all(not os.path.exists(f"/proc/{p}") for p in sleepers)
            try:
                os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                code = 0 if gone else 2
        finally:
            os._exit(code)
    _, status = os.waitpid(helper, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
