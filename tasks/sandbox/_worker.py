"""The in-sandbox worker: receives jobs, forks two children per sample, reports raw facts.

This file runs *inside* bubblewrap (or, in the fallback, as a plain subprocess) and
imports nothing from ``tasks``: it is bound read-only into the sandbox with its
siblings (``bwrap.SANDBOX_FILES``). Per sample it forks the solution process
(``_solution_side``: the sample uid, rlimits, cgroups, the work dir holding only
``solution.py``) and the test process (``_test_side``: another uid, not dumpable, the
tests in a memfd). The two talk over a pipe pair; the worker (trusted) observes what
neither can touch: exit statuses, rusage, wall clock, the files left behind, and passes
the test process's verdict file to the host.

The worker is a child subreaper, so every process a sample starts (even one that calls
``setsid`` and double-forks) ends up as the worker's child once its parents die: when
``waitpid`` says the worker has no child left, nothing of the sample survives.

Protocol with the host, on the fds that were stdin and stdout when the worker started:
a frame is a 4-byte big-endian length + JSON. A job frame is followed by ``blob`` raw
bytes (the tests, spliced straight into a memfd); a report frame by ``verdict_len`` raw
bytes (the verdict file, spliced straight out).
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import json
import os
import select
import signal
import struct
import sys
import time

import coverage
import coverage.parser
import pytest
from _pytest.mark import structures  # noqa: F401 - loaded before the path trick below

# Our siblings, and nothing else, come from this file's directory (in the fallback it
# also holds modules such as ``types.py``, which must not shadow the stdlib's).
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _cgroup
import _solution_side
import _test_side
import _workdir

del sys.path[0]  # samples must not import the harness modules by accident

VERDICT_CAP = 8 * 1024 * 1024
PR_SET_CHILD_SUBREAPER = 36
PR_SET_DUMPABLE = 4
# Stdlib modules preloaded so the first import by a solution does not look like tampering
# (logging registers an atexit hook, for instance) and costs nothing per sample.
PRELOAD = (
    "logging",
    "collections",
    "itertools",
    "functools",
    "math",
    "re",
    "heapq",
    "bisect",
    "string",
    "random",
    "statistics",
    "fractions",
    "decimal",
    "typing",
    "dataclasses",
    "threading",
    "hashlib",
    "copy",
    "operator",
    "datetime",
    "unittest",
    "io",
    "textwrap",
)
# Warms coverage's tokenizer (its regexes compile lazily, ~15 ms per child otherwise).
WARM_SOURCE = '''"""doc"""
import os  # comment
@staticmethod
def f(a: int = 0x1F, *b, **c) -> str:
    x = [1.5e3, 2j, 'a', b'b', r"c", f"{a!r:>3}", """d""", \'\'\'e\'\'\', rb'f', u"g"]
    if a and (b or
              c):  # pragma: no cover
        return lambda y: y ** 2 // 3 % 4
    while not a: a -= 1
    try:
        pass
    except (ValueError, KeyError) as exc:
        raise RuntimeError from exc
    return x
class K:
    async def g(self): await self
'''


# ---------------------------------------------------------------- protocol
def _read_exact(fd: int, n: int) -> bytes | None:
    buf = b""
    while len(buf) < n:
        chunk = os.read(fd, n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf


def _recv(fd: int) -> dict | None:
    head = _read_exact(fd, 4)
    if head is None:
        return None
    body = _read_exact(fd, struct.unpack(">I", head)[0])
    return None if body is None else json.loads(body)


def _send(fd: int, msg: dict) -> None:
    body = json.dumps(msg).encode()
    data = struct.pack(">I", len(body)) + body
    while data:
        data = data[os.write(fd, data) :]


class _Tail:
    """Keeps the byte count and the last ``cap`` bytes of a stream."""

    def __init__(self, cap: int) -> None:
        self.cap, self.total, self.buf = cap, 0, bytearray()

    def add(self, data: bytes) -> None:
        self.total += len(data)
        self.buf += data[-self.cap :] if self.cap else b""
        del self.buf[: max(0, len(self.buf) - self.cap)]


# ---------------------------------------------------------------- leftovers
def _leftovers(uid: int | None) -> list[int]:
    """Our children and (belt and braces) any process of the sample uid."""
    me, found = os.getpid(), []
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == me:
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                fields = f.read().rsplit(b")", 1)[1].split()
            mine = int(fields[1]) == me or (
                uid is not None and os.stat(f"/proc/{name}").st_uid == uid
            )
        except (OSError, IndexError, ValueError):
            continue
        if mine and fields[0] not in (b"Z", b"X"):
            found.append(int(name))
    return found


def _kill_all(uid: int | None) -> None:
    """Kill and reap every process the sample left; the two children are reaped already.

    Fast path (no leftover): one ``waitpid`` that finds no child. Otherwise kill what
    is alive and reap until no child is left; killed processes cannot fork any more, and
    their orphans come to us (subreaper), so even a fork bomb empties.
    """
    for _ in range(10_000):
        try:
            done, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if done:
            continue
        for p in _leftovers(uid):
            with contextlib.suppress(OSError):
                os.kill(p, signal.SIGKILL)
        time.sleep(0.001)  # rare path: let the kills land before reaping


# ---------------------------------------------------------------- one sample
def _clean(workdir: str) -> list[str]:
    """Side effects, work dir removed; a sample's mess never fails the worker."""
    try:
        return _workdir.clean(workdir)
    except Exception as exc:  # set it aside, so the next sample gets a fresh dir
        aside = f"{workdir}.junk-{time.monotonic_ns()}"
        with contextlib.suppress(OSError):
            os.rename(workdir, aside)
        return [f"work dir not removed: {type(exc).__name__}: {exc}"[:200]]


def _splice_in(src: int, n: int) -> int:
    """Move ``n`` bytes from the host pipe into a fresh memfd, never through our memory."""
    fd = os.memfd_create("tests", os.MFD_CLOEXEC)
    while n:
        moved = os.splice(src, fd, n)
        if not moved:
            raise EOFError("the host closed the pipe mid-job")
        n -= moved
    return fd


def _splice_out(fd: int, dst: int, n: int) -> None:
    offset = 0
    while offset < n:
        moved = os.splice(fd, dst, n - offset, offset_src=offset)
        if not moved:
            raise EOFError("verdict file shorter than its size")
        offset += moved


def _child(main, *args) -> None:  # pragma: no cover - runs in a forked child
    """Run a child's ``main``; whatever happens, never return into the worker's loop."""
    try:
        main(*args)
    finally:
        os._exit(70)


def _rss_kb() -> int:
    with open("/proc/self/statm", "rb") as f:
        return int(f.read().split()[1]) * (os.sysconf("SC_PAGE_SIZE") // 1024)


def run_job(job: dict, host_fd: int, workdir: str, uids, cov, exclude: str, cgroup) -> tuple:
    """Run one sample: the solution and the tests in two forked children.

    The tests arrive as ``job["blob"]`` bytes still in the host pipe: they go to a memfd
    only the test process gets, so neither this worker's memory (which later solutions
    inherit) nor the solution's ever holds them. Returns (report, verdict memfd).
    """
    uid, test_uid = uids
    limits = job["limits"]
    _workdir.prepare(workdir, job["code"], uid)
    cgroup.reset()
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    s2t_r, s2t_w = os.pipe()
    t2s_r, t2s_w = os.pipe()
    baseline_kb = _rss_kb()
    start = time.monotonic()
    spid = os.fork()
    if spid == 0:  # pragma: no cover - the child never returns
        _child(
            _solution_side.run,
            job,
            workdir,
            uid,
            cov,
            exclude,
            [out_w, err_w, t2s_r, s2t_w],
        )
    del job["code"]
    for fd in (out_w, err_w):
        os.close(fd)
    tests_fd = _splice_in(host_fd, job["blob"])
    verdict_fd = os.memfd_create("verdict", os.MFD_CLOEXEC)
    tpid = os.fork()
    if tpid == 0:  # pragma: no cover
        _child(_test_side.run, limits, test_uid, [s2t_r, t2s_w, verdict_fd, tests_fd], workdir)
    for fd in (s2t_r, s2t_w, t2s_r, t2s_w, tests_fd):
        os.close(fd)
    procs = {os.pidfd_open(spid): spid, os.pidfd_open(tpid): tpid}
    status: dict[int, tuple] = {}
    streams = {out_r: _Tail(limits["output_kb"] * 1024), err_r: _Tail(8192)}
    open_fds, wall_timeout = list(streams), False
    deadline = start + limits["wall_s"]
    grace = None
    while open_fds or len(status) < 2:
        now = time.monotonic()
        if len(status) < 2 and now >= deadline:
            wall_timeout = True
            for pid in (spid, tpid):
                if pid not in status:
                    with contextlib.suppress(OSError):
                        os.kill(pid, signal.SIGKILL)
                    _, st, ru = os.wait4(pid, 0)
                    status[pid] = (st, ru)
            grace = time.monotonic() + 1.0
            continue
        if grace is not None and now >= grace:
            break
        waiting = [p for p, pid in procs.items() if pid not in status]
        limit = (grace if grace is not None else deadline) - now
        ready, _, _ = select.select(open_fds + waiting, [], [], max(0.0, limit))
        for fd in ready:
            if fd in procs:
                _, st, ru = os.wait4(procs[fd], 0)
                status[procs[fd]] = (st, ru)
                if procs[fd] == tpid and spid not in status:
                    # The tests are over; the solution only has its goodbye to send.
                    deadline = min(deadline, time.monotonic() + 1.0)
                if len(status) == 2:
                    grace = time.monotonic() + 1.0  # drain what is left
                continue
            data = os.read(fd, 1 << 20)
            if data:
                streams[fd].add(data)
            else:
                open_fds.remove(fd)
    wall_ms = (time.monotonic() - start) * 1000
    _kill_all(uid)
    for fd in [*streams, *procs]:
        os.close(fd)
    out, err = streams[out_r], streams[err_r]
    (s_st, s_ru), (t_st, t_ru) = status[spid], status[tpid]
    report = {
        "stdout": out.buf.decode("utf-8", "replace"),
        "stdout_bytes": out.total,
        "stderr": err.buf.decode("utf-8", "replace"),
        "stderr_bytes": err.total,
        "exit_code": os.WEXITSTATUS(s_st) if os.WIFEXITED(s_st) else None,
        "signal": os.WTERMSIG(s_st) if os.WIFSIGNALED(s_st) else None,
        "test_exit_code": os.WEXITSTATUS(t_st) if os.WIFEXITED(t_st) else None,
        "test_signal": os.WTERMSIG(t_st) if os.WIFSIGNALED(t_st) else None,
        "cpu_ms": (s_ru.ru_utime + s_ru.ru_stime) * 1000,
        "test_cpu_ms": (t_ru.ru_utime + t_ru.ru_stime) * 1000,
        "maxrss_mb": s_ru.ru_maxrss / 1024,
        "faults": [s_ru.ru_minflt, t_ru.ru_minflt],
        # Without cgroups: the growth over the worker's RSS at the fork (approximate).
        "peak_memory_mb": max(0, s_ru.ru_maxrss - baseline_kb) / 1024,
        "wall_ms": wall_ms,
        "wall_timeout": wall_timeout,
        "side_effects": _clean(workdir),
        **cgroup.report(),
    }
    return report, verdict_fd


def warm_up(workdir: str):
    """A started-once coverage object whose file decisions are cached, a warm tokenizer.

    Call with ``sys.path`` as the children will have it: coverage.py recomputes its path
    matchers (~10 ms) whenever ``sys.path`` changed since its last decision.
    """
    cov = coverage.Coverage(
        data_file=None, config_file=False, include=[f"{workdir}/{_workdir.SOLUTION}"]
    )
    # No erase(): it would drop the warm state and every child would pay again.
    cov.start()
    cov.stop()
    # Decide once for every file loaded now, instead of once per file in every child.
    decide, cache = cov._collector.should_trace, cov._collector.should_trace_cache
    for mod in list(sys.modules.values()):
        path = getattr(mod, "__file__", None)
        if isinstance(path, str) and path not in cache:
            cache[path] = decide(path, None)
    exclude = cov._exclude_regex("exclude")  # the default ``# pragma: no cover`` rule
    _solution_side.parse_statements(WARM_SOURCE, exclude)
    return cov, exclude


# ---------------------------------------------------------------- entry point
def main() -> None:  # pragma: no cover - runs in the sandbox
    workdir = sys.argv[1]
    uids = tuple(int(a) if int(a) >= 0 else None for a in sys.argv[2:4])
    cgroup = _cgroup.Cgroups.from_argv(sys.argv[4:])
    # Keep the protocol on private fds; stray prints must not corrupt it.
    rfd, wfd = os.dup(0), os.dup(1)
    os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
    os.dup2(2, 1)
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "cannot become a child subreaper")
    # Join the samples' cgroups once: a fork inherits them, a move per sample costs ms.
    cgroup.join()
    libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)  # samples of our uid (fallback) cannot trace us
    for name in PRELOAD:
        __import__(name)
    os.makedirs(os.path.dirname(workdir), exist_ok=True)
    sys.path.insert(0, workdir)  # where samples import from (see ``warm_up``)
    cov, exclude = warm_up(workdir)
    # Children inherit a frozen heap: their GC does not touch (and copy) these pages.
    gc.freeze()
    _send(
        wfd,
        {
            "ready": True,
            "pid": os.getpid(),
            "python": sys.version.split()[0],
            "pytest": pytest.__version__,
            "coverage": coverage.__version__,
            "cgroups": cgroup.describe(),
        },
    )
    while (job := _recv(rfd)) is not None:
        verdict_fd = None
        try:
            report, verdict_fd = run_job(job, rfd, workdir, uids, cov, exclude, cgroup)
            size = os.fstat(verdict_fd).st_size
            report["verdict_len"] = min(size, VERDICT_CAP)
            report["verdict_truncated"] = size > VERDICT_CAP
            _send(wfd, report)
            _splice_out(verdict_fd, wfd, report["verdict_len"])
        except Exception as exc:
            _send(wfd, {"worker_error": f"{type(exc).__name__}: {exc}"[:300]})
        finally:
            if verdict_fd is not None:
                os.close(verdict_fd)


if __name__ == "__main__":
    main()
