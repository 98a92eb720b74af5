"""The in-sandbox worker: receives jobs, forks one child per sample, reports raw facts.

This file runs *inside* bubblewrap (or, in the fallback, as a plain subprocess) and
imports nothing from ``tasks``: it is bound read-only into the sandbox with its two
siblings, ``_child.py`` (the harness the forked child runs) and ``_guards.py``. The
worker (trusted) forks a child per sample and observes what the child cannot touch:
exit status, rusage, wall clock, the files left behind.

The worker is a child subreaper, so every process a sample starts (even one that calls
``setsid`` and double-forks) ends up as the worker's child once its parents die: when
``waitpid`` says the worker has no child left, nothing of the sample survives.

Protocol with the host: 4-byte big-endian length + JSON, on the fds that were stdin
and stdout when the worker started.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import gc
import json
import os
import select
import shutil
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
import _child

del sys.path[0]  # samples must not import the harness modules by accident

SOLUTION, TESTS = _child.SOLUTION, _child.TESTS
VERDICT_CAP = 8 * 1024 * 1024
PR_SET_CHILD_SUBREAPER = 36
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


def _kill_all(pid: int, uid: int | None) -> None:
    """Kill and reap every process the sample started; ``pid`` is already reaped.

    Fast path (no leftover): one ``waitpid`` that finds no child. Otherwise kill what
    is alive and reap until no child is left; killed processes cannot fork any more, and
    their orphans come to us (subreaper), so even a fork bomb empties.
    """
    with contextlib.suppress(OSError):
        os.killpg(pid, signal.SIGKILL)
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


# ---------------------------------------------------------------- work dir
def _prepare(workdir: str, job: dict, uid: int | None) -> None:
    if os.path.lexists(workdir):
        shutil.rmtree(workdir, ignore_errors=True)
    os.mkdir(workdir, 0o700)
    for name, text in ((SOLUTION, job["code"]), (TESTS, job["tests"])):
        with open(os.path.join(workdir, name), "w", encoding="utf-8") as f:
            f.write(text)
    if uid is not None:
        for name in ("", SOLUTION, TESTS):
            os.chown(os.path.join(workdir, name), uid, uid)


def _side_effects_and_clean(workdir: str) -> list[str]:
    """Files the sample left (besides its own two), then remove the work dir."""
    with contextlib.suppress(OSError), os.scandir(workdir) as it:
        entries = {e.name: e.is_file(follow_symlinks=False) for e in it}
        if entries == {SOLUTION: True, TESTS: True}:  # the common, clean case
            for name in entries:
                os.unlink(os.path.join(workdir, name))
            os.rmdir(workdir)
            return []
    found = []
    for root, dirs, files in os.walk(workdir):
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        for name in files:
            rel = os.path.relpath(os.path.join(root, name), workdir)
            if rel not in (SOLUTION, TESTS):
                try:
                    size = os.lstat(os.path.join(root, name)).st_size
                except OSError:
                    size = -1
                found.append(f"{rel}: {size} bytes")
    if not os.path.exists(os.path.join(workdir, TESTS)):
        found.append(f"deleted: {TESTS}")
    shutil.rmtree(workdir, ignore_errors=True)
    return sorted(found)[:50]


# ---------------------------------------------------------------- one sample
def run_job(job: dict, workdir: str, uid: int | None, cov, exclude: str) -> dict:
    """Run one sample in a forked child; return what the worker observed."""
    limits = job["limits"]
    with contextlib.suppress(Exception):  # the child compiles again and reports why
        job["tests_code"] = compile_tests(job["tests"], os.path.join(workdir, TESTS))
    _prepare(workdir, job, uid)
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    ver_r, ver_w = os.pipe()
    start = time.monotonic()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child never returns
        _child.run(job, workdir, uid, cov, exclude, (out_w, err_w, ver_w))
    for fd in (out_w, err_w, ver_w):
        os.close(fd)
    pidfd = os.pidfd_open(pid)
    streams = {
        out_r: _Tail(limits["output_kb"] * 1024),
        err_r: _Tail(8192),
        ver_r: _Tail(VERDICT_CAP),
    }
    open_fds, status, rusage, wall_timeout = list(streams), None, None, False
    deadline = start + limits["wall_s"]
    while open_fds or status is None:
        now = time.monotonic()
        if status is None and now >= deadline:
            wall_timeout = True
            os.kill(pid, signal.SIGKILL)
            _, status, rusage = os.wait4(pid, 0)
            _kill_all(pid, uid)
            deadline = time.monotonic() + 1.0
            continue
        if status is not None and now >= deadline:
            break
        watch = open_fds + ([pidfd] if status is None else [])
        ready, _, _ = select.select(watch, [], [], max(0.0, deadline - now))
        for fd in ready:
            if fd == pidfd:
                _, status, rusage = os.wait4(pid, 0)
                _kill_all(pid, uid)
                deadline = time.monotonic() + 1.0  # grace to drain what is left
                continue
            data = os.read(fd, 1 << 20)
            if data:
                streams[fd].add(data)
            else:
                open_fds.remove(fd)
    wall_ms = (time.monotonic() - start) * 1000
    for fd in [*streams, pidfd]:
        os.close(fd)
    out, err, ver = streams[out_r], streams[err_r], streams[ver_r]
    return {
        "verdict": ver.buf.decode("utf-8", "replace"),
        "verdict_truncated": ver.total > VERDICT_CAP,
        "stdout": out.buf.decode("utf-8", "replace"),
        "stdout_bytes": out.total,
        "stderr": err.buf.decode("utf-8", "replace"),
        "stderr_bytes": err.total,
        "exit_code": os.WEXITSTATUS(status) if os.WIFEXITED(status) else None,
        "signal": os.WTERMSIG(status) if os.WIFSIGNALED(status) else None,
        "cpu_ms": (rusage.ru_utime + rusage.ru_stime) * 1000,
        "maxrss_mb": rusage.ru_maxrss / 1024,
        "wall_ms": wall_ms,
        "wall_timeout": wall_timeout,
        "side_effects": _side_effects_and_clean(workdir),
    }


@functools.lru_cache(maxsize=512)
def compile_tests(source: str, path: str):
    """The tests' code object; a task's many samples share it (children inherit it)."""
    return compile(source, path, "exec", dont_inherit=True)


def warm_up(workdir: str):
    """A started-once coverage object whose file decisions are cached, a warm tokenizer.

    Call with ``sys.path`` as the children will have it: coverage.py recomputes its path
    matchers (~10 ms) whenever ``sys.path`` changed since its last decision.
    """
    cov = coverage.Coverage(data_file=None, config_file=False, include=[f"{workdir}/{SOLUTION}"])
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
    _child.parse_statements(WARM_SOURCE, exclude)
    return cov, exclude


# ---------------------------------------------------------------- entry point
def main() -> None:  # pragma: no cover - runs in the sandbox
    workdir, uid = sys.argv[1], (int(sys.argv[2]) if int(sys.argv[2]) >= 0 else None)
    # Keep the protocol on private fds; stray prints must not corrupt it.
    rfd, wfd = os.dup(0), os.dup(1)
    os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
    os.dup2(2, 1)
    if ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "cannot become a child subreaper")
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
        },
    )
    while (job := _recv(rfd)) is not None:
        try:
            _send(wfd, run_job(job, workdir, uid, cov, exclude))
        except Exception as exc:
            _send(wfd, {"worker_error": f"{type(exc).__name__}: {exc}"[:300]})


if __name__ == "__main__":
    main()
