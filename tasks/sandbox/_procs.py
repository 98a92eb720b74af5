"""The sample's processes, seen from the worker: find, kill and reap what it left.

Imports nothing from ``tasks`` (it runs in the sandbox). The worker is a child
subreaper, so every process a sample starts (even one that calls ``setsid`` and
double-forks) ends up as the worker's child once its parents die: when the worker has
no child left but its tester, nothing of the sample survives.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time


def _leftovers(uid: int | None, keep: int | None) -> list[int]:
    """Our children but ``keep`` (the tester) and any process of the sample uid."""
    me, found = os.getpid(), []
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) in (me, keep):
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


def _children() -> set[int]:
    me = os.getpid()
    with open(f"/proc/{me}/task/{me}/children", "rb") as f:
        return {int(p) for p in f.read().split()}


def kill_all(uid: int | None, keep: int | None = None) -> None:
    """Kill and reap every process the sample left (never ``keep``, the tester).

    Fast path (no leftover): our only child is the tester. Otherwise kill what is alive
    and reap until none is left; killed processes cannot fork any more, and their
    orphans come to us (subreaper), so even a fork bomb empties.
    """
    for _ in range(10_000):
        rest = _children() - {keep}
        if not rest:
            return
        for p in rest:  # reap what has exited
            with contextlib.suppress(ChildProcessError):
                os.waitpid(p, os.WNOHANG)
        for p in _leftovers(uid, keep):
            with contextlib.suppress(OSError):
                os.kill(p, signal.SIGKILL)
        time.sleep(0.001)  # rare path: let the kills land before reaping


def rss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm", "rb") as f:
            return int(f.read().split()[1]) * (os.sysconf("SC_PAGE_SIZE") // 1024)
    except (OSError, IndexError, ValueError):
        return 0
