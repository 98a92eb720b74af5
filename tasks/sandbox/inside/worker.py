"""The worker, a forkserver: one clean parent per core that forks two fresh processes per sample.

It runs inside bubblewrap (or, in the fallback, as a plain subprocess), started once with
the harness, the coverage tool and common stdlib modules loaded, and never loads suite or
solution code itself. For each sample it forks the solution process
(``solution_process``) and a fresh tester (``test_process``), watches them from outside
(exit statuses, rusage, wall clock, the CPU time of every process the sample starts, the
files left behind), kills everything the sample started at its end, and sends the host a
``protocol.WorkerReport`` with the tester's verdict file. A child subreaper, so every
process a sample starts ends up as the worker's child once its parents die (``procs``).
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import json
import os
import resource
import select
import signal
import sys
import time

from . import procs, protocol, solution_process, test_process, usage, workdir

PR_SET_CHILD_SUBREAPER = 36
PR_SET_DUMPABLE = 4
GRACE_S = 1.0  # for the solution to say goodbye once the tester is done
# Stdlib modules preloaded (shared with every fork): a sample's import of them is free.
# Every fork pays for the worker's size (page tables, copied pages), so only the small
# modules solutions and tests use most; the rest (hashlib, asyncio, unittest) load per use.
PRELOAD = (
    "collections", "itertools", "functools", "math", "re", "heapq", "bisect", "string",
    "random", "fractions", "decimal", "typing", "copy", "operator", "datetime", "io",
    "importlib.util",
)  # fmt: skip
class _Tail:
    """Keeps the byte count and the last ``cap`` bytes of a stream."""

    def __init__(self, cap: int) -> None:
        self.cap, self.total, self.buf = cap, 0, bytearray()

    def add(self, data: bytes) -> None:
        self.total += len(data)
        self.buf += data[-self.cap :] if self.cap else b""
        del self.buf[: max(0, len(self.buf) - self.cap)]


class Tools:
    """What every sample's processes share, loaded once in the worker (clean, warm)."""

    def __init__(self) -> None:
        try:
            import slipcover

            self.slip = slipcover.Slipcover()
            self.name = f"slipcover {slipcover.__version__}"
        except Exception as exc:  # coverage is then not measured (null), never guessed
            self.slip, self.name = None, f"none ({type(exc).__name__})"
        self.pytest = False

    def need_pytest(self) -> None:
        """Load pytest here once, before forking, for the first tests that import it."""
        if not self.pytest:
            import pytest  # noqa: F401
            from _pytest.mark import structures  # noqa: F401
            from _pytest.outcomes import OutcomeException  # noqa: F401

            self.pytest = True
            gc.freeze()


def _clean(dir_: str) -> list[str]:
    """Side effects, work dir removed; a sample's mess never fails the worker."""
    try:
        return workdir.clean(dir_)
    except Exception as exc:  # set it aside, so the next sample gets a fresh dir
        aside = f"{dir_}.junk-{time.monotonic_ns()}"
        with contextlib.suppress(OSError):
            os.rename(dir_, aside)
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


def _fork(main, *args) -> int:
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child never returns into the worker's loop
        try:
            main(*args)
        finally:
            os._exit(70)
    return pid


def _cpu_ms(ru) -> float:
    return (ru.ru_utime + ru.ru_stime) * 1000


class Sample:
    """One sample's two processes, watched until both ended and nothing of it is left."""

    def __init__(self, header: dict, host_fd: int, dir_: str, uids, tools: Tools, cgroup) -> None:
        self.limits = header["limits"]
        self.dir, self.uids, self.cgroup = dir_, uids, cgroup
        workdir.prepare(dir_, header["code"], uids[0])
        cgroup.reset()
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        s2t_r, s2t_w = os.pipe()
        t2s_r, t2s_w = os.pipe()
        self.children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
        self.start = time.monotonic()
        self.spid = _fork(solution_process.run, header, dir_, uids[0],
                          [out_w, err_w, t2s_r, s2t_w], tools.slip)  # fmt: skip
        self.baseline_kb = procs.rss_kb(self.spid)  # still confining itself: no sample code yet
        del header["code"]
        for fd in (out_w, err_w, t2s_r, s2t_w):
            os.close(fd)
        tests_fd = _splice_in(host_fd, header["blob"])
        header["blob"] = 0  # consumed: the host pipe is in step again
        self.verdict_fd = os.memfd_create("verdict", os.MFD_CLOEXEC)
        try:
            self.tpid = _fork(test_process.run, self.limits, uids[1],
                              [s2t_r, t2s_w, self.verdict_fd, tests_fd], dir_)  # fmt: skip
        finally:
            for fd in (s2t_r, t2s_w, tests_fd):
                os.close(fd)
        self.streams = {out_r: _Tail(self.limits["output_kb"] * 1024), err_r: _Tail(8192)}
        self.s_status = self.t_status = None
        self.limit = ""

    def watch(self) -> None:
        """Until both processes ended (or a limit hit) and their output is drained."""
        spidfd, tpidfd = os.pidfd_open(self.spid), os.pidfd_open(self.tpid)
        open_fds = list(self.streams)
        cpu_limit_ms = self.limits["cpu_s"] * 1000
        deadline = self.start + self.limits["wall_s"]
        # The sample's processes together use at most one CPU second per core per second:
        # the first look at their total CPU is due when they could have used the limit.
        cores = max(1, os.cpu_count() or 1)
        check_at = self.start + self.limits["cpu_s"] / cores
        grace = None
        try:
            while open_fds or self.s_status is None or self.t_status is None:
                now = time.monotonic()
                if grace is not None and now >= grace:
                    break
                if now >= deadline and (self.s_status is None or self.t_status is None):
                    self.limit = self.limit or "wall"
                    self._kill_solution()
                    self._kill_tester()
                    grace = time.monotonic() + GRACE_S  # drain what is left
                    continue
                if now >= check_at and self.s_status is None:
                    used = procs.tree_cpu_ms(self.uids[0], self.spid)
                    if used >= cpu_limit_ms:
                        self.limit = "tree_cpu"
                        procs.kill_sample(self.uids[0], self.spid)
                        self._kill_solution()
                        continue
                    check_at = now + max(0.05, (cpu_limit_ms - used) / 1000 / cores)
                watch = list(open_fds)
                watch += [spidfd] if self.s_status is None else []
                watch += [tpidfd] if self.t_status is None else []
                wake = min(x for x in (deadline, check_at, grace) if x is not None)
                ready, _, _ = select.select(watch, [], [], max(0.0, wake - now))
                for fd in ready:
                    if fd == spidfd:
                        _, st, ru = os.wait4(self.spid, 0)
                        self.s_status = (st, ru)
                    elif fd == tpidfd:
                        _, st, ru = os.wait4(self.tpid, 0)
                        self.t_status = (st, ru)
                        if self.s_status is None:  # the solution has its goodbye to finish
                            deadline = min(deadline, time.monotonic() + GRACE_S)
                    else:
                        data = os.read(fd, 1 << 20)
                        if data:
                            self.streams[fd].add(data)
                        else:
                            open_fds.remove(fd)
                if self.s_status is not None and self.t_status is not None and grace is None:
                    grace = time.monotonic() + GRACE_S  # drain what is left
        finally:
            os.close(spidfd)
            os.close(tpidfd)

    def _kill_solution(self) -> None:
        if self.s_status is None:
            with contextlib.suppress(OSError):
                os.kill(self.spid, signal.SIGKILL)
            _, st, ru = os.wait4(self.spid, 0)
            self.s_status = (st, ru)

    def _kill_tester(self) -> None:
        if self.t_status is None:
            with contextlib.suppress(OSError):
                os.kill(self.tpid, signal.SIGKILL)
            _, st, ru = os.wait4(self.tpid, 0)
            self.t_status = (st, ru)

    def finish(self) -> dict:
        """Kill what is left, account for it, clean the work dir; the report."""
        self._kill_solution()
        self._kill_tester()
        wall_ms = (time.monotonic() - self.start) * 1000
        procs.kill_all(self.uids)
        for fd in self.streams:
            os.close(fd)
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        s_st, s_ru = self.s_status
        t_st, t_ru = self.t_status
        tester_ms = _cpu_ms(t_ru)
        # Everything reaped since the sample started (its orphans included), but the tester.
        tree_ms = max(0.0, _cpu_ms(children) - _cpu_ms(self.children_before) - tester_ms)
        sig = os.WTERMSIG(s_st) if os.WIFSIGNALED(s_st) else None
        cpu_limit_ms = self.limits["cpu_s"] * 1000
        limit = self.limit
        if not limit and (
            sig == signal.SIGXCPU or (sig == signal.SIGKILL and _cpu_ms(s_ru) >= 0.9 * cpu_limit_ms)
        ):
            limit = "cpu"
        if not limit and tree_ms > cpu_limit_ms:
            limit = "tree_cpu"  # processes that each stayed under the limit, together over it
        t_sig = os.WTERMSIG(t_st) if os.WIFSIGNALED(t_st) else None
        if not limit and t_sig in (signal.SIGXCPU, signal.SIGKILL) and tester_ms >= 0.9 * cpu_limit_ms:
            limit = "tester_cpu"
        out, err = self.streams.values()
        report = protocol.WorkerReport(
            stdout=out.buf.decode("utf-8", "replace"),
            stdout_bytes=out.total,
            stderr=err.buf.decode("utf-8", "replace"),
            stderr_bytes=err.total,
            exit_code=os.WEXITSTATUS(s_st) if os.WIFEXITED(s_st) else None,
            signal=sig,
            tester_exit_code=os.WEXITSTATUS(t_st) if os.WIFEXITED(t_st) else None,
            tester_signal=t_sig,
            tree_cpu_ms=tree_ms,
            tester_cpu_ms=tester_ms,
            peak_memory_mb=max(0, s_ru.ru_maxrss - self.baseline_kb) / 1024,
            maxrss_mb=s_ru.ru_maxrss / 1024,
            wall_ms=wall_ms,
            limit=limit,
            side_effects=_clean(self.dir),
            **self.cgroup.report(),
        )
        return protocol.to_dict(report)


def main() -> None:  # pragma: no cover - runs in the sandbox
    dir_ = sys.argv[1]
    uids = tuple(int(a) if int(a) >= 0 else None for a in sys.argv[2:4])
    cgroup = usage.Cgroups.from_argv(sys.argv[4:])
    # Keep the protocol on private fds; stray prints must not corrupt it.
    rfd, wfd = os.dup(0), os.dup(1)
    os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
    os.dup2(2, 1)
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "cannot become a child subreaper")
    # Join the samples' cgroups once: a fork inherits them, a move per sample costs time.
    cgroup.join()
    libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)  # samples of our uid (fallback) cannot trace us
    for name in PRELOAD:
        __import__(name)
    os.makedirs(os.path.dirname(dir_), exist_ok=True)
    tools = Tools()
    # Children inherit a frozen heap: their GC does not touch (and copy) these pages.
    gc.freeze()
    hello = protocol.Hello(
        ready=True,
        pid=os.getpid(),
        python=sys.version.split()[0],
        cgroups=cgroup.describe(),
        coverage_tool=tools.name,
    )
    protocol.send_host(wfd, protocol.to_dict(hello))
    while (header := protocol.recv_host(rfd)) is not None:
        sample = None
        try:
            if header.get("needs_pytest"):
                tools.need_pytest()
            sample = Sample(header, rfd, dir_, uids, tools, cgroup)
            sample.watch()
            report = sample.finish()
            size = os.fstat(sample.verdict_fd).st_size
            report["verdict_len"] = min(size, protocol.VERDICT_CAP)
            report["verdict_truncated"] = size > protocol.VERDICT_CAP
            protocol.send_host(wfd, report)
            _splice_out(sample.verdict_fd, wfd, report["verdict_len"])
        except Exception as exc:
            if header.get("blob"):  # keep the protocol in step: drop the tests unread
                with contextlib.suppress(Exception):
                    os.close(_splice_in(rfd, header["blob"]))
            procs.kill_all(uids)
            protocol.send_host(wfd, {"worker_error": f"{type(exc).__name__}: {exc}"[:300]})
        finally:
            if sample is not None:
                os.close(sample.verdict_fd)


if __name__ == "__main__":
    main()
