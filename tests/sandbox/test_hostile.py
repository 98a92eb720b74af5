"""A battery of hostile programs: each must be contained and must not hurt the next job.

Every program runs in bubblewrap and in the rlimit-only fallback ("none"). Those the
fallback cannot contain are skipped there, with the reason (see ``FALLBACK_CANNOT``).
"""

from __future__ import annotations

import contextlib
import os
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tasks.sandbox import ExecResult, Job, Sandbox, exports_for
from tasks.suites import evalplus
from tests.sandbox.conftest import GOOD, HAS_BWRAP, LIMITS, uid_processes

pytestmark = pytest.mark.sandbox

SECRET_ENV = "sk-vivek-fake-env-7d41c0"
SECRET_KEY = "-----BEGIN VIVEK FAKE KEY----- 93be1a77 -----END-----"
CHECKOUT = Path(__file__).resolve().parents[2]  # the programs' CHECKOUT: this repository
HOSTILE_DIR = CHECKOUT / "data" / "hostile"
OUTSIDE = (str(CHECKOUT), "/etc", "/root", "/usr", "/")
PROBE = f"vivek_probe_{uuid.uuid4().hex[:8]}"
F_IS_ONE = "from solution import f\n\n\ndef test_f():\n    assert f() == 1\n"
WRONG = Job(code="def add(a, b):\n    return a - b\n", tests=GOOD.tests)
# What the rlimit-only fallback cannot contain (mirrored in the README).
FALLBACK_CANNOT = {
    "network": "no network namespace: connections to the host and the internet succeed",
    "host_tmp": "world-writable host dirs (/tmp, /var/tmp, /dev/shm) are writable",
    "host_read": "world-readable host files (the repository, /etc) are readable",
    "disk_total": "only each file's size is capped, not the total written",
    "pid_ns": "no PID namespace: only the uid drop keeps it from signalling host processes",
    "cgroups": "no cgroups here: memory and process limits are per process (rlimits)",
    "root": "samples keep our uid (root here, as Python lives under /root): RLIMIT_NPROC, "
    "the uid sweep of leftover processes and file permissions do not apply",
}


@dataclass(frozen=True)
class Hostile:
    """One program from ``data/hostile/<name>.py`` and what containing it looks like."""

    name: str
    statuses: frozenset[str]
    tests: str = F_IS_ONE
    fallback: str = ""  # key of FALLBACK_CANNOT when the fallback never contains it
    root_unsafe: bool = False  # contained by the fallback only when samples drop to a uid
    check: Callable[[ExecResult], None] | None = None
    # The task's own reference: the tests see the names it defines (as the checker does).
    reference: str = "def f():\n    return 1\n"
    code_text: str = ""  # the program itself, when it is not a file of data/hostile
    slow: bool = False  # takes seconds without a timeout (a process tree killed by its cgroup)

    @property
    def param(self):
        """As a pytest parameter: a program stopped by a time limit waits for it, twice (a
        limit hit is re-run once), so it is slow."""
        slow = self.slow or "timeout" in self.statuses
        return pytest.param(self, id=self.name, marks=[pytest.mark.slow] if slow else [])

    @property
    def code(self) -> str:
        return self.code_text or (HOSTILE_DIR / f"{self.name}.py").read_text()

    def job(self, code: str) -> Job:
        exports = exports_for(self.tests, "f", self.reference)
        return Job(code=code, tests=self.tests, exports=exports)


def no_host_probe(*dirs: str) -> Callable[[ExecResult], None]:
    def check(r: ExecResult) -> None:
        for d in dirs:
            assert not os.path.exists(os.path.join(d, PROBE)), f"{d}/{PROBE} escaped"

    return check


def stdout_capped(r: ExecResult) -> None:
    assert len(r.stdout_tail) <= 2000
    marker = [s for s in r.side_effects if s.startswith("stdout:")]
    assert marker and int(marker[0].split()[1]) > LIMITS.output_kb * 1024


def no_fake_pass_output(r: ExecResult) -> None:
    assert "passed" not in r.stdout_tail


def files_within(total_mb: int) -> Callable[[ExecResult], None]:
    def check(r: ExecResult) -> None:
        sizes = [int(s.rsplit(": ", 1)[1].split()[0]) for s in r.side_effects if "bytes" in s]
        assert sum(sizes) <= total_mb * 1024 * 1024

    return check


def no_test_file_seen(r: ExecResult) -> None:
    assert "test_solution.py" in r.error  # it looked, and found none


def side_effect(expected: str) -> Callable[[ExecResult], None]:
    def check(r: ExecResult) -> None:
        assert expected in r.side_effects, r.side_effects

    return check


def deeper_listed(r: ExecResult) -> None:
    assert any(s.endswith(": deeper, not listed") for s in r.side_effects), r.side_effects


S = frozenset
PATCH_TESTS = (
    "import pytest\nfrom solution import f\n\n\ndef test_f():\n    assert f() == pytest.approx(1)\n"
)
RAISES_TESTS = (
    "import pytest\nfrom solution import f\n\n\ndef test_f():\n"
    "    with pytest.raises(ValueError):\n        f()\n"
)
UNITTEST_TESTS = (
    "import unittest\nfrom solution import f\n\n\nclass TestF(unittest.TestCase):\n"
    "    def test_f(self):\n        self.assertEqual(f(), 1)\n"
)
BUILTINS_TESTS = (
    "from solution import *\n\n\ndef test_f():\n"
    "    assert abs(f() - 1) < 1e-6\n    assert all([f() == 1])\n"
    "    assert len([f()]) == 1 and sorted([f()]) == [1] and round(f()) == 1\n"
    "    assert isinstance(f(), int) and type(f()) is int and set([f()]) == {1}\n"
    "    assert list(zip([f()], [1])) == [(1, 1)]\n"
)
EVALPLUS_TESTS = evalplus.fill_expected(
    evalplus.tests_template("f", [[1], [2]], [[3]], 0.0), ["2", "4"]
)[0]
HANDLE_TESTS = (
    "from solution import f\n\n\ndef test_f():\n    r = f()\n"
    "    assert len(r) == 2 and 5 in r and r and list(r) == [1, 5]\n"
)
MAP_TESTS = (
    "from solution import f\n\n\ndef test_f():\n"
    "    assert all(map(f, [1, 2, 3]))\n    assert not any(map(f, [-1]))\n"
)
FOUR_CALLS = (
    "from solution import f\n\n\ndef test_f():\n    assert [f() for _ in range(4)] == [1] * 4\n"
)
# A suite whose tests try to outlive their sample: patch the tester's builtins, leave a
# thread and a child process behind. The next samples get a fresh tester all the same.
PATCHING_TESTS = (
    "import builtins\nimport os\nimport threading\nimport time\n\nfrom solution import f\n\n\n"
    "def test_f():\n    builtins.abs = lambda x: 0\n"
    "    builtins.AssertionError = type('Never', (Exception,), {})\n"
    "    threading.Thread(target=time.sleep, args=(30,)).start()\n"
    "    if os.fork() == 0:\n        time.sleep(30)\n        os._exit(0)\n"
    "    assert f() == 1\n"
)
HOSTILE = [
    Hostile("fork_bomb", S({"timeout"}), root_unsafe=True),
    Hostile("shell_fork_bomb", S({"pass", "module_error"}), root_unsafe=True),
    Hostile("memory_hog", S({"oom"})),
    Hostile("memory_hog_in_test", S({"oom"})),
    Hostile("memory_process_tree", S({"oom"}), fallback="cgroups", slow=True),
    Hostile("infinite_loop", S({"timeout"})),
    Hostile("busy_threads", S({"timeout"})),
    Hostile("sigxcpu_ignored", S({"timeout"})),
    Hostile("sigstop_self", S({"timeout"})),
    Hostile("sleep_past_timeout", S({"timeout"})),
    Hostile("network_host_loopback", S({"pass"}), fallback="network"),
    Hostile("network_internet", S({"pass"}), fallback="network"),
    Hostile("write_outside", S({"pass"}), root_unsafe=True, check=no_host_probe(*OUTSIDE)),
    Hostile("write_host_tmp", S({"pass"}), fallback="host_tmp", check=no_host_probe("/tmp")),
    Hostile("read_ssh_key", S({"pass"}), root_unsafe=True),
    Hostile("read_repository", S({"pass"}), fallback="host_read"),
    Hostile("env_and_proc_environ", S({"pass"}), root_unsafe=True),
    Hostile("create_user_namespace", S({"pass"})),
    Hostile("kill_parent", S({"module_error"}), root_unsafe=True),
    Hostile("killpg_zero", S({"module_error"})),
    Hostile("kill_every_pid", S({"pass"}), fallback="pid_ns"),
    Hostile("stdout_flood", S({"timeout"}), check=stdout_capped),
    Hostile("stderr_flood", S({"timeout"})),
    Hostile("deep_recursion", S({"error", "oom", "timeout"})),  # 3.11 frames live on the heap
    Hostile("plain_recursion", S({"error"})),
    Hostile("os_exit_at_import", S({"module_error"})),
    Hostile("sys_exit_at_import", S({"module_error"})),
    Hostile("exit_in_test", S({"error"})),
    Hostile("atexit_fake_pass", S({"fail"}), check=no_fake_pass_output),
    Hostile("fake_pass_lines", S({"module_error"})),
    Hostile("close_verdict_fd", S({"error"})),
    # Issue 12: attacks on the verdict. The tests run in another process: none can reach it.
    Hostile("forge_frame_walk", S({"fail"})),
    Hostile("forge_gc_emit", S({"fail"})),
    Hostile("forge_closure_dumps", S({"fail"})),
    Hostile("int_eq_always_true", S({"error"})),
    Hostile("liar_object", S({"error"})),  # issue 20: an object is refused, not compared
    Hostile("read_test_file", S({"fail"})),
    Hostile("patch_pytest_approx", S({"fail"}), tests=PATCH_TESTS),
    Hostile("patch_pytest_raises", S({"fail"}), tests=RAISES_TESTS),
    Hostile("patch_unittest_assert", S({"fail"}), tests=UNITTEST_TESTS),
    Hostile("thread_swaps_tests", S({"fail"})),
    Hostile("patch_approx_while_used", S({"fail"}), tests=PATCH_TESTS),
    # Tampering with its own process only changes what the solution itself computes.
    Hostile("patch_assertion_error", S({"fail"})),
    Hostile("patch_import", S({"pass"})),
    Hostile("patch_pytest", S({"fail"}), tests=PATCH_TESTS),
    Hostile("patch_pytest_internals", S({"fail"})),
    Hostile("patch_harness_globals", S({"fail"})),
    Hostile("settrace_off", S({"pass"})),
    Hostile("meta_path_hook", S({"pass"})),
    Hostile("doctest_testmod", S({"pass"})),  # issue 11: no tamper false positives
    Hostile("gettext_install", S({"pass"})),
    Hostile("delete_test_file", S({"module_error"}), check=no_test_file_seen),
    Hostile("detached_child", S({"pass"}), root_unsafe=True),
    Hostile("disk_fill_one_file", S({"error"}), check=files_within(LIMITS.fsize_mb)),
    Hostile("disk_fill_many_files", S({"pass"}), fallback="disk_total", check=files_within(64)),
    Hostile("chmod_workdir", S({"pass"})),
    # Issue 13: a sample's own mess is its own, never the sandbox's.
    Hostile("deep_directories", S({"pass"}), check=deeper_listed),
    Hostile("odd_file_names", S({"pass"}), check=side_effect("dir-link -> real-dir")),
    Hostile("raise_rlimit", S({"module_error"}), root_unsafe=True),
    Hostile("setuid_root", S({"module_error"}), root_unsafe=True),
    # Issue 20: one program per class of attack on the verdict or on other samples.
    Hostile("shadow_builtins", S({"fail"}), tests=BUILTINS_TESTS),
    Hostile(
        "evalplus_compile_hook",
        S({"fail"}),
        tests=EVALPLUS_TESTS,
        reference="def f(x):\n    return x * 2\n",
    ),
    Hostile(
        "handle_says_yes",
        S({"error"}),
        tests=HANDLE_TESTS,
        reference="def f():\n    return [1, 5]\n",
    ),
    Hostile(
        "stop_iteration_escape",
        S({"error"}),
        tests=MAP_TESTS,
        reference="def f(x):\n    return x > 0\n",
    ),
    Hostile("fork_spreads_cpu", S({"timeout"}), tests=FOUR_CALLS),
    Hostile("launder_bad_value", S({"error"})),
    Hostile(
        "suite_patches_tester",
        S({"pass"}),
        tests=PATCHING_TESTS,
        code_text="def f():\n    return 1\n",
    ),
]


@pytest.fixture(scope="module")
def host_secrets():
    """A fake API key in the host env and a fake key in the host's real ~/.ssh."""
    ssh = Path.home() / ".ssh"
    created = not ssh.exists()
    ssh.mkdir(mode=0o700, exist_ok=True)
    key = ssh / f"vivek_test_key_{os.getpid()}"  # one per pytest worker (make test runs two)
    key.write_text(SECRET_KEY)
    key.chmod(0o600)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("OPENAI_API_KEY", SECRET_ENV)
        yield key
    key.unlink()
    if created:
        with contextlib.suppress(OSError):  # another worker's key may still be there
            ssh.rmdir()


@pytest.fixture(scope="module")
def listener():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        sock.setblocking(False)
        yield sock


@pytest.fixture(scope="module", params=["bwrap", "none"])
def box(request, host_secrets):
    if request.param == "bwrap" and not HAS_BWRAP:
        pytest.skip("bubblewrap (as root) is not available")
    isolation = "require" if request.param == "bwrap" else "none"
    with Sandbox(LIMITS, workers=1, isolation=isolation) as sb:
        yield request.param, sb


def test_battery_is_big_enough():
    assert len(HOSTILE) >= 20
    assert len({h.name for h in HOSTILE}) == len(HOSTILE)


@pytest.mark.parametrize("hostile", [h.param for h in HOSTILE])
def test_hostile_program_is_contained(box, hostile, host_secrets, listener):
    backend, sb = box
    if hostile.fallback == "cgroups" and sb.config["cgroups"] is None:
        pytest.skip(f"cannot bound this here: {FALLBACK_CANNOT['cgroups']}")
    if backend == "none" and hostile.fallback and hostile.fallback != "cgroups":
        pytest.skip(f"fallback cannot contain this: {FALLBACK_CANNOT[hostile.fallback]}")
    if backend == "none" and hostile.root_unsafe and not sb.config["uid_dropped"]:
        pytest.skip(f"fallback cannot contain this: {FALLBACK_CANNOT['root']}")
    code = (
        hostile.code.replace("PORT", str(listener.getsockname()[1]))
        .replace("PROBE", PROBE)
        .replace("KEYPATH", str(host_secrets))
        .replace("CHECKOUT", str(CHECKOUT))
    )
    uids = sb.sample_uids()
    r = sb.run([hostile.job(code)])[0]
    assert r.status in hostile.statuses, r
    if hostile.check:
        hostile.check(r)
    assert SECRET_KEY not in repr(r) and SECRET_ENV not in repr(r)
    assert not uid_processes(uids), "a sample process outlived its run"
    with pytest.raises(BlockingIOError):
        listener.accept()
    after, wrong = sb.run([GOOD, WRONG])
    assert after.status == "pass", after  # the honest control still passes
    assert wrong.status == "fail", wrong  # and a wrong answer still fails (nothing resident)
