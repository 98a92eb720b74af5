"""The in-sandbox worker: receives jobs, forks a child per sample, reports raw facts.

This file runs *inside* bubblewrap (or, in the fallback, as a plain subprocess) and
imports nothing from ``tasks``: it is bound read-only into the sandbox with its
siblings (``bwrap.SANDBOX_FILES``). Per sample it forks the solution process
(``_solution_side``: the sample uid, rlimits, cgroups, the work dir holding only
``solution.py``) and hands the tests to its tester (``_test_side``, ``_tester``: a
process forked once, as another uid, not dumpable, the tests in a memfd). The two talk
over a pipe pair; the worker (trusted) observes what neither can touch: exit statuses,
rusage, wall clock, the files left behind, and passes the tester's verdict file to the
host.

The worker is a child subreaper, so every process a sample starts (even one that calls
``setsid`` and double-forks) ends up as the worker's child once its parents die
(``_procs``).

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
import _procs
import _solution_side
import _test_side
import _tester
import _workdir

del sys.path[0]  # samples must not import the harness modules by accident

VERDICT_CAP = 8 * 1024 * 1024
PR_SET_CHILD_SUBREAPER = 36
PR_SET_DUMPABLE = 4
# Stdlib modules preloaded (and shared with every fork), so a solution's or a test's
# import of them costs nothing per sample.
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


def run_job(job: dict, host_fd: int, workdir: str, uid, cov, exclude: str, cgroup, tester):
    """Run one sample: the solution in a forked child, its tests in the tester.

    The tests arrive as ``job["blob"]`` bytes still in the host pipe: they go to a memfd
    only the tester gets, so neither this worker's memory (which later solutions inherit)
    nor the solution's ever holds them. Returns (report, verdict memfd).
    """
    limits = job["limits"]
    _workdir.prepare(workdir, job["code"], uid)
    cgroup.reset()
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    s2t_r, s2t_w = os.pipe()
    t2s_r, t2s_w = os.pipe()
    start = time.monotonic()
    spid = os.fork()
    if spid == 0:  # pragma: no cover - the child never returns
        fds = [out_w, err_w, t2s_r, s2t_w]
        _child(_solution_side.run, job, workdir, uid, cov, exclude, fds)
    # The child's RSS at birth (it is still confining itself, no sample code yet).
    baseline_kb = _procs.rss_kb(spid)
    del job["code"]
    for fd in (out_w, err_w, t2s_r, s2t_w):
        os.close(fd)
    tests_fd = _splice_in(host_fd, job["blob"])
    job["blob"] = 0
    verdict_fd = os.memfd_create("verdict", os.MFD_CLOEXEC)
    try:
        tester.send([s2t_r, t2s_w, verdict_fd, tests_fd])
    finally:
        for fd in (s2t_r, t2s_w, tests_fd):
            os.close(fd)
    spidfd = os.pidfd_open(spid)
    s_status, answer, t_signal = None, None, None
    streams = {out_r: _Tail(limits["output_kb"] * 1024), err_r: _Tail(8192)}
    open_fds, wall_timeout = list(streams), False
    deadline = start + limits["wall_s"]
    grace = None
    while open_fds or s_status is None or answer is None:
        now = time.monotonic()
        if now >= deadline and (s_status is None or answer is None):
            if s_status is None:  # the solution first: the tests may still finish
                wall_timeout = answer is None
                os.kill(spid, signal.SIGKILL)
                _, st, ru = os.wait4(spid, 0)
                s_status = (st, ru)
                deadline = time.monotonic() + 1.0
                continue
            wall_timeout = True
            t_signal, answer = tester.stop() or signal.SIGKILL, {}
            grace = time.monotonic() + 1.0
            continue
        if grace is not None and now >= grace:
            break
        watch = list(open_fds)
        if s_status is None:
            watch.append(spidfd)
        if answer is None:
            watch += [tester.sock.fileno(), tester.pidfd]
        limit = (grace if grace is not None else deadline) - now
        ready, _, _ = select.select(watch, [], [], max(0.0, limit))
        for fd in ready:
            if fd == spidfd:
                _, st, ru = os.wait4(spid, 0)
                s_status = (st, ru)
            elif answer is None and fd in (tester.sock.fileno(), tester.pidfd):
                answer = tester.answer()
                if not answer:  # it died mid-job
                    t_signal = tester.stop() or signal.SIGKILL
                elif answer.get("last"):  # it retires: the next job forks a fresh one
                    tester.stop()
                elif s_status is None:
                    # The tests are over; the solution only has its goodbye to send.
                    deadline = min(deadline, time.monotonic() + 1.0)
            elif fd in open_fds:
                data = os.read(fd, 1 << 20)
                if data:
                    streams[fd].add(data)
                else:
                    open_fds.remove(fd)
            if s_status is not None and answer is not None and grace is None:
                grace = time.monotonic() + 1.0  # drain what is left
    wall_ms = (time.monotonic() - start) * 1000
    _procs.kill_all(uid, tester.pid)
    for fd in [*streams, spidfd]:
        os.close(fd)
    out, err = streams[out_r], streams[err_r]
    s_st, s_ru = s_status
    cpu = answer.get("cpu_ms") if answer else None
    report = {
        "stdout": out.buf.decode("utf-8", "replace"),
        "stdout_bytes": out.total,
        "stderr": err.buf.decode("utf-8", "replace"),
        "stderr_bytes": err.total,
        "exit_code": os.WEXITSTATUS(s_st) if os.WIFEXITED(s_st) else None,
        "signal": os.WTERMSIG(s_st) if os.WIFSIGNALED(s_st) else None,
        "test_exit_code": None if t_signal else 0,
        "test_signal": t_signal,
        "cpu_ms": (s_ru.ru_utime + s_ru.ru_stime) * 1000,
        "test_cpu_ms": cpu if isinstance(cpu, int | float) else 0.0,
        "maxrss_mb": s_ru.ru_maxrss / 1024,
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
    uid, test_uid = (int(a) if int(a) >= 0 else None for a in sys.argv[2:4])
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
    tester = None
    while (job := _recv(rfd)) is not None:
        verdict_fd = None
        try:
            if tester is None:  # forked once, warm, before it ever saw a test
                tester = _tester.Tester(job["limits"], test_uid, workdir, _test_side.serve)
            report, verdict_fd = run_job(job, rfd, workdir, uid, cov, exclude, cgroup, tester)
            size = os.fstat(verdict_fd).st_size
            report["verdict_len"] = min(size, VERDICT_CAP)
            report["verdict_truncated"] = size > VERDICT_CAP
            _send(wfd, report)
            _splice_out(verdict_fd, wfd, report["verdict_len"])
        except Exception as exc:
            if job.get("blob"):  # keep the protocol in step: drop the tests unread
                with contextlib.suppress(Exception):
                    os.close(_splice_in(rfd, job["blob"]))
            _send(wfd, {"worker_error": f"{type(exc).__name__}: {exc}"[:300]})
        finally:
            if verdict_fd is not None:
                os.close(verdict_fd)


if __name__ == "__main__":
    main()
