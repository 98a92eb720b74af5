"""The sample's processes, seen from the worker: their CPU time; kill and reap what is left.

The worker is a child subreaper, so every process a sample starts (even one that calls
``setsid`` and double-forks) ends up as the worker's child once its parents die: when the
worker has no child left, nothing of the sample survives.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Iterator


def _processes() -> Iterator[tuple[int, int, list[bytes]]]:
    """(pid, uid, the fields of /proc/pid/stat after the name) of every other process."""
    me = os.getpid()
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == me:
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                fields = f.read().rsplit(b")", 1)[1].split()
            yield int(name), os.stat(f"/proc/{name}").st_uid, fields
        except (OSError, IndexError, ValueError):
            continue


def _leftovers(uids: tuple[int | None, ...]) -> list[int]:
    """Our children and any process of the sample's uids (zombies aside)."""
    me = os.getpid()
    return [
        pid
        for pid, uid, fields in _processes()
        if (int(fields[1]) == me or uid in uids) and fields[0] not in (b"Z", b"X")
    ]


TICK_MS = 1000 / os.sysconf("SC_CLK_TCK")


def tree_cpu_ms(uid: int | None, sid: int | None) -> float:
    """CPU time of the live (and zombie) processes of the sample, children they reaped
    included: every process of ``uid`` or, without a private uid, of session ``sid``.

    The worker checks it while a sample runs, so that processes a solution forks share
    one CPU budget (each has its own RLIMIT_CPU too); after the run the exact figure
    comes from rusage (``Sample.tree_cpu_ms``).
    """
    total = 0
    for _, owner, fields in _processes():
        if owner == uid if uid is not None else (sid is not None and int(fields[3]) == sid):
            total += sum(int(x) for x in fields[11:15])  # utime stime cutime cstime
    return total * TICK_MS


def kill_sample(uid: int | None, sid: int) -> None:
    """SIGKILL every process of the sample's ``uid`` (without one: its session ``sid``)."""
    if uid is None:
        with contextlib.suppress(OSError):
            os.killpg(sid, signal.SIGKILL)
        return
    for pid, owner, _ in _processes():
        if owner == uid:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)


def _children() -> set[int]:
    me = os.getpid()
    with open(f"/proc/{me}/task/{me}/children", "rb") as f:
        return {int(p) for p in f.read().split()}


def kill_all(uids: tuple[int | None, ...]) -> None:
    """Kill and reap every process the sample left (the tester and the solution included).

    Fast path (no leftover): we have no child. Otherwise kill what is alive and reap until
    none is left; killed processes cannot fork any more, and their orphans come to us
    (subreaper), so even a fork bomb empties.
    """
    uids = tuple(u for u in uids if u is not None)
    for _ in range(10_000):
        rest = _children()
        if not rest:
            return
        for p in rest:  # reap what has exited
            with contextlib.suppress(ChildProcessError):
                os.waitpid(p, os.WNOHANG)
        for p in _leftovers(uids):
            with contextlib.suppress(OSError):
                os.kill(p, signal.SIGKILL)
        time.sleep(0.001)  # rare path: let the kills land before reaping


def rss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm", "rb") as f:
            return int(f.read().split()[1]) * (os.sysconf("SC_PAGE_SIZE") // 1024)
    except (OSError, IndexError, ValueError):
        return 0
