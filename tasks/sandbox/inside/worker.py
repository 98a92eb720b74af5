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
import os
import resource
import select
import signal
import sys
import time

from . import confine, procs, protocol, solution_process, streams, test_process, usage, workdir

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


def _no_lines(code) -> tuple:
    return ()


class Tools:
    """What every sample's processes share, loaded once in the worker (clean, warm)."""

    def __init__(self) -> None:
        try:
            import slipcover

            # Slipcover lists each code object's lines for its own reports (half of its
            # instrumenting time); Vivek counts statements with coverage.py on the host
            # and reads only the lines seen, so this worker's copy skips the listing.
            slipcover.Slipcover.lines_from_code = staticmethod(_no_lines)
            slipcover.Slipcover.branches_from_code = staticmethod(_no_lines)
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
        code_fd = workdir.create(dir_, uids[0])
        try:
            streams.splice_into(host_fd, code_fd, header["code"])
            header["code"] = 0  # consumed
        finally:
            os.close(code_fd)
        cgroup.reset()
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        s2t_r, s2t_w = os.pipe()
        t2s_r, t2s_w = os.pipe()
        self.phase_r, phase_w = os.pipe()
        self.children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
        self.start = time.monotonic()
        self.spid = _fork(solution_process.run, header, dir_, uids[0],
                          [out_w, err_w, t2s_r, s2t_w], tools.slip)  # fmt: skip
        self.baseline_kb = procs.rss_kb(self.spid)  # still confining itself: no sample code yet
        for fd in (out_w, err_w, t2s_r, s2t_w):
            os.close(fd)
        tests_fd = streams.splice_in(host_fd, header["blob"])
        header["blob"] = 0  # consumed: the host pipe is in step again
        self.verdict_fd = os.memfd_create("verdict", os.MFD_CLOEXEC)
        try:
            self.tpid = _fork(test_process.run, self.limits, uids[1],
                              [s2t_r, t2s_w, self.verdict_fd, tests_fd, phase_w], dir_)  # fmt: skip
        finally:
            for fd in (s2t_r, t2s_w, tests_fd, phase_w):
                os.close(fd)
        self.streams = {
            out_r: streams.Tail(self.limits["output_kb"] * 1024),
            err_r: streams.Tail(8192),
        }
        self.s_status = self.t_status = None
        self.limit, self.limit_after = "", False  # a limit the worker itself enforced
        self.tests_done = False  # the tester said its tests were over
        self.oom_at_mark = 0
        self.solution_ended_after = False

    def watch(self) -> None:
        """Until both processes ended (or a limit hit) and their output is drained."""
        spidfd, tpidfd = os.pidfd_open(self.spid), os.pidfd_open(self.tpid)
        open_fds = list(self.streams)
        phase = [self.phase_r]
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
                    if not self.limit:
                        self.limit, self.limit_after = "wall", self.tests_done
                    self._kill_solution()
                    self._kill_tester()
                    grace = time.monotonic() + GRACE_S  # drain what is left
                    continue
                if now >= check_at and self.s_status is None:
                    used = procs.tree_cpu_ms(self.uids[0], self.spid)
                    if used >= cpu_limit_ms:
                        self.limit, self.limit_after = "tree_cpu", self.tests_done
                        procs.kill_sample(self.uids[0], self.spid)
                        self._kill_solution()
                        continue
                    check_at = now + max(0.05, (cpu_limit_ms - used) / 1000 / cores)
                watch = phase + open_fds
                watch += [spidfd] if self.s_status is None else []
                watch += [tpidfd] if self.t_status is None else []
                wake = min(x for x in (deadline, check_at, grace) if x is not None)
                ready, _, _ = select.select(watch, [], [], max(0.0, wake - now))
                if self.phase_r in ready:  # first: it tells what came before the rest
                    self._mark(os.read(self.phase_r, 16))
                    phase = []
                for fd in ready:
                    if fd == self.phase_r:
                        continue
                    if fd == spidfd:
                        _, st, ru = os.wait4(self.spid, 0)
                        self.s_status = (st, ru)
                        self.solution_ended_after = self.tests_done
                    elif fd == tpidfd:
                        _, st, ru = os.wait4(self.tpid, 0)
                        self.t_status = (st, ru)
                        if self.s_status is None:  # the solution has its goodbye to finish
                            deadline = min(deadline, time.monotonic() + GRACE_S)
                    elif not self.streams[fd].drain(fd):
                        open_fds.remove(fd)
                if self.s_status is not None and self.t_status is not None and grace is None:
                    grace = time.monotonic() + GRACE_S  # drain what is left
        finally:
            os.close(spidfd)
            os.close(tpidfd)
            os.close(self.phase_r)

    def _mark(self, data: bytes) -> None:
        """The tester's word that its tests are over (once; anything else means nothing)."""
        if data == protocol.TESTS_DONE and not self.tests_done:
            self.tests_done = True
            self.oom_at_mark = self.cgroup.oom_kills_so_far()

    def send(self, wfd: int, report: dict) -> None:
        """The report, then the verdict and the two tails, each spliced from its memfd."""
        size = os.fstat(self.verdict_fd).st_size
        report["verdict_len"] = min(size, protocol.VERDICT_CAP)
        report["verdict_truncated"] = size > protocol.VERDICT_CAP
        protocol.send_host(wfd, report)
        streams.splice_out(self.verdict_fd, wfd, report["verdict_len"])
        for stream in (self.out, self.err):
            offset, length = stream.tail()
            streams.splice_out(stream.fd, wfd, length, offset)

    def close(self) -> None:
        for fd in (self.verdict_fd, *(s.fd for s in self.streams.values())):
            with contextlib.suppress(OSError):
                os.close(fd)

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

    def _limit(self, sig, s_ru, t_sig, tester_ms: float, tree_ms: float) -> tuple[str, bool]:
        """The limit the sample reached, and whether only after its tests were over.

        Any limit reached while the tests ran wins over one reached afterwards, and a
        memory limit over a time limit.
        """
        cpu_ms = self.limits["cpu_s"] * 1000
        events = []  # (limit, after the tests)
        if self.cgroup.oom_kills_so_far():
            events.append(("oom", self.tests_done and self.oom_at_mark == 0))
        near_memory = s_ru.ru_maxrss / 1024 >= 0.9 * self.limits["memory_mb"]
        if sig is not None and near_memory:
            events.append(("oom", self.solution_ended_after))
        if self.limit:
            events.append((self.limit, self.limit_after))
        if sig == signal.SIGXCPU or (sig == signal.SIGKILL and _cpu_ms(s_ru) >= 0.9 * cpu_ms):
            events.append(("cpu", self.solution_ended_after))
        if tree_ms > cpu_ms:  # processes that each stayed under the limit, together over it
            events.append(("tree_cpu", self.tests_done))
        # The kernel alone sends the tester SIGXCPU (the solution runs as another uid), and
        # only at its CPU limit, even when its rusage, read under load, says less.
        if t_sig == signal.SIGXCPU or (t_sig == signal.SIGKILL and tester_ms >= 0.9 * cpu_ms):
            events.append(("tester_cpu", self.tests_done))
        during = [name for name, after in events if not after]
        if during:
            return ("oom" if "oom" in during else during[0]), False
        return (events[0][0], True) if events else ("", False)

    def finish(self) -> dict:
        """Kill what is left, account for it, clean the work dir; the report."""
        self._kill_solution()
        self._kill_tester()
        wall_ms = (time.monotonic() - self.start) * 1000
        procs.kill_all(self.uids)
        for fd in self.streams:
            os.close(fd)
        self.out, self.err = self.streams.values()
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        s_st, s_ru = self.s_status
        t_st, t_ru = self.t_status
        tester_ms = _cpu_ms(t_ru)
        # Everything reaped since the sample started (its orphans included), but the tester.
        tree_ms = max(0.0, _cpu_ms(children) - _cpu_ms(self.children_before) - tester_ms)
        sig = os.WTERMSIG(s_st) if os.WIFSIGNALED(s_st) else None
        t_sig = os.WTERMSIG(t_st) if os.WIFSIGNALED(t_st) else None
        limit, after = self._limit(sig, s_ru, t_sig, tester_ms, tree_ms)
        report = protocol.WorkerReport(
            stdout_len=self.out.tail()[1],
            stdout_bytes=self.out.total,
            stderr_len=self.err.tail()[1],
            stderr_bytes=self.err.total,
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
            limit_after_tests=after,
            side_effects=_clean(self.dir),
            **self.cgroup.report(),
        )
        return protocol.to_dict(report)


def main() -> None:  # pragma: no cover - runs in the sandbox
    dir_ = sys.argv[1]
    uids = tuple(int(a) if int(a) >= 0 else None for a in sys.argv[2:4])
    if int(sys.argv[4]) >= 0:  # this worker and every process it forks keep to one core
        os.sched_setaffinity(0, {int(sys.argv[4])})
    cgroup = usage.Cgroups.from_argv(sys.argv[5:])
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
    # Once, here: every process forked from now on inherits the filter and no_new_privs
    # (a filter per fork cost each sample's two processes 0.15 ms each).
    confine.deny_user_namespaces()
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
            sample.send(wfd, sample.finish())
        except Exception as exc:
            for key in ("code", "blob"):  # keep the protocol in step: drop the rest unread
                if header.get(key):
                    with contextlib.suppress(Exception):
                        os.close(streams.splice_in(rfd, header[key]))
            procs.kill_all(uids)
            protocol.send_host(wfd, {"worker_error": f"{type(exc).__name__}: {exc}"[:300]})
        finally:
            if sample is not None:
                sample.close()


if __name__ == "__main__":
    main()
