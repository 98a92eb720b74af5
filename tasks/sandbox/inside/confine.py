"""Confinement of the two processes a sample gets, applied in each right after its fork.

``confine_solution`` runs before the solution's code, ``confine_tests`` before the tests.
Both get the same CPU, memory, process and file-size rlimits and no capability; both
inherit the seccomp filter (no new user namespace) and no_new_privs that the worker
installs on itself once, before its first fork (``deny_user_namespaces``). They run as
different private uids, so the solution cannot signal, trace or read the tester, and the
tester is also not dumpable, so its ``/proc`` entries (memory, fds, environment) stay
closed even to a process of its uid.
"""

from __future__ import annotations

import ctypes
import math
import os
import resource
import signal
import sys

MB = 1024 * 1024
PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
PR_CAPBSET_DROP = 24
PR_SET_NO_NEW_PRIVS = 38
CAP_VERSION_3 = 0x20080522
SOLUTION_FDS = 5  # 0 stdin (null), 1 stdout, 2 stderr, 3 link in, 4 link out

PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 22, 2
CLONE_NEWUSER = 0x10000000
# (audit arch, clone, unshare, setns, clone3) per machine.
SYSCALLS = {
    "x86_64": (0xC000003E, 56, 272, 308, 435),
    "aarch64": (0xC00000B7, 220, 97, 268, 435),
}

_libc = ctypes.CDLL(None, use_errno=True)


class _Filter(ctypes.Structure):
    _fields_ = [("code", ctypes.c_uint16), ("jt", ctypes.c_uint8), ("jf", ctypes.c_uint8),
                ("k", ctypes.c_uint32)]  # fmt: skip


class _Program(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(_Filter))]


def _filter_program() -> _Program | None:
    """The BPF program of ``deny_user_namespaces`` for this machine (None: unsupported)."""
    numbers = SYSCALLS.get(os.uname().machine)
    if numbers is None:
        return None
    arch, clone, unshare, setns, clone3 = numbers
    ld, jeq, jset, ret = 0x20, 0x15, 0x45, 0x06
    allow, errno = 0x7FFF0000, 0x00050000
    code = [
        (ld, 0, 0, 4), (jeq, 0, 9, arch), (ld, 0, 0, 0),
        (jeq, 5, 0, clone3), (jeq, 5, 0, setns), (jeq, 1, 0, unshare), (jeq, 0, 4, clone),
        (ld, 0, 0, 16), (jset, 1, 2, CLONE_NEWUSER),
        (ret, 0, 0, errno | 38), (ret, 0, 0, errno | 1), (ret, 0, 0, allow),
    ]  # fmt: skip
    filters = (_Filter * len(code))(*(_Filter(*c) for c in code))
    prog = _Program(len(code), filters)
    prog._keep = filters  # the program points into it
    return prog


# Built once, when the worker imports this module: building it (a new ctypes array type)
# costs more than the two prctl calls each forked process then makes.
_PROGRAM = _filter_program()


def deny_user_namespaces() -> bool:
    """A seccomp filter: no new user namespace (unshare/clone with CLONE_NEWUSER, setns).

    bubblewrap's ``--disable-userns`` needs ``--unshare-user``, whose single uid mapping
    would take away the private uids the solution and the tests run as; this filter does
    the same job and also works in the fallback. ``clone3`` gets ENOSYS (its flags are
    out of a filter's reach), so libc falls back to ``clone``. False on other machines.
    """
    if _PROGRAM is None:
        return False
    _prctl(PR_SET_NO_NEW_PRIVS, 1)
    if _libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(_PROGRAM), 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "cannot install the seccomp filter")
    return True


def _prctl(option: int, arg: int) -> int:
    return _libc.prctl(option, ctypes.c_ulong(arg), 0, 0, 0)


def _place(fds: list[int]) -> None:
    """Make ``fds`` the process's fds 0..n-1, close every other one."""
    # Move them out of the way first: a target number may hold another source.
    high = [os.dup(fd) for fd in fds]
    for target, fd in enumerate(high):
        os.dup2(fd, target)
    os.closerange(len(fds), 65536)


def _rlimits(limits: dict, slack_mb: int = 0) -> None:
    cpu = max(1, math.ceil(limits["cpu_s"]))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    mem = (limits["memory_mb"] + slack_mb) * MB
    resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
    fsize = limits["fsize_mb"] * MB
    resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def drop_capabilities() -> None:
    """Empty the bounding, permitted, effective and inheritable sets (a root without uid drop)."""
    cap = 0
    while _prctl(PR_CAPBSET_DROP, cap) == 0:
        cap += 1

    class Header(ctypes.Structure):
        _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]

    data = (ctypes.c_uint32 * 6)()
    if _libc.capset(ctypes.byref(Header(CAP_VERSION_3, 0)), data) != 0:
        raise OSError(ctypes.get_errno(), "capset failed")


def _become(uid: int | None, nproc: int | None) -> None:
    if uid is None:
        if os.geteuid() == 0:
            drop_capabilities()
        return
    if nproc is not None:
        resource.setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))
    os.setgroups([])
    os.setgid(uid)
    os.setuid(uid)


def _oom_first() -> None:
    """Make this process (and what it starts) the one the OOM killer picks in the cgroup."""
    try:  # os-level: Python's text I/O stack costs more than the write itself
        fd = os.open("/proc/self/oom_score_adj", os.O_WRONLY)
        try:
            os.write(fd, b"1000")
        finally:
            os.close(fd)
    except OSError:
        pass


def confine_solution(limits: dict, workdir: str, uid: int | None, fds: list[int]) -> None:
    """Own session, fds 0-4 only, rlimits, first in line for the OOM killer, the sample uid."""
    os.setsid()
    _place([os.open(os.devnull, os.O_RDONLY), *fds])
    _rlimits(limits)
    _oom_first()
    _become(uid, limits["nproc"])
    os.chdir(workdir)
    if sys.path[:1] != [workdir]:  # the worker put it there already (coverage is warm)
        sys.path.insert(0, workdir)
    sys.path_importer_cache.pop(workdir, None)  # cached while the dir did not exist


def confine_tests(limits: dict, uid: int | None, fds: list[int], workdir: str) -> None:
    """Own session, fds 0-N only, the test uid, the sample's limits, not dumpable.

    The tester lives for one sample: the same CPU, process and file-size limits as the
    solution; memory gets room to rebuild what the solution sends. Out of the work dir.
    """
    os.setsid()
    null = os.open(os.devnull, os.O_RDWR)
    _place([null, null, null, *fds])
    _rlimits(limits, slack_mb=limits["memory_mb"])
    parent = os.getppid()
    _become(uid, limits["nproc"])
    _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)  # after the uid change, which clears it
    if os.getppid() != parent:  # the worker died in between
        os._exit(0)
    _prctl(PR_SET_DUMPABLE, 0)
    os.chdir("/")
    while workdir in sys.path:  # the solution's directory is not the tests' import path
        sys.path.remove(workdir)
