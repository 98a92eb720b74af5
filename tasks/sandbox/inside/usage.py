"""The sample's cgroups, seen from inside the sandbox: join, reset, read OOM kills and peaks.

The host creates one memory and one pids cgroup per worker (``tasks/sandbox/cgroups.py``),
sets their limits, and binds them into the sandbox; the worker passes their paths on its
command line and joins them once at start (moving a process costs about 0.3 ms per
hierarchy; a fork inherits its cgroups for free). So
the whole process tree a sample starts shares one memory limit and one process-count
limit, with the tester and the worker's small per-sample allocations (the host adds
room for them). The solution volunteers for the OOM killer (oom_score_adj +1000,
inherited by what it starts), so an OOM kill lands in the sample's tree. Without
cgroups every method is a no-op and the rlimits (per process) are the only bound.
"""

from __future__ import annotations

import contextlib
import os


def _read(path: str) -> str:
    with open(path) as f:
        return f.read()


def _write(path: str, value: str) -> None:
    with open(path, "w") as f:
        f.write(value)


def _field(text: str, key: str) -> int:
    for line in text.splitlines():
        name, _, value = line.partition(" ")
        if name == key:
            return int(value)
    return 0


class Cgroups:
    """``kind`` is "v1" (``dirs`` = memory dir, pids dir), "v2" (one dir) or "" (none)."""

    def __init__(self, kind: str, dirs: list[str]) -> None:
        self.kind, self.dirs = kind, dirs
        self._oom_before = self._oom_seen = 0
        self.why = ""

    @classmethod
    def from_argv(cls, argv: list[str]) -> Cgroups:
        if argv and argv[0] in ("v1", "v2"):
            return cls(argv[0], argv[1:])
        return cls("", [])

    def describe(self) -> dict:
        return {"kind": self.kind or None, **({"why": self.why} if self.why else {})}

    def _oom_kills(self) -> int:
        if self.kind == "v1":
            return _field(_read(os.path.join(self.dirs[0], "memory.oom_control")), "oom_kill")
        if self.kind == "v2":
            return _field(_read(os.path.join(self.dirs[0], "memory.events")), "oom_kill")
        return 0

    def reset(self) -> None:
        """Before a sample: remember the OOM-kill count, reset the peak (v1)."""
        if not self.kind:
            return
        self._oom_before = self._oom_seen  # the count the previous sample's end read
        if self.kind == "v1":
            with contextlib.suppress(OSError):
                _write(os.path.join(self.dirs[0], "memory.max_usage_in_bytes"), "0")

    def join(self) -> None:
        """Move the calling process (the worker) into the cgroups; on failure, none."""
        if not self.kind:
            return
        try:
            for d in self.dirs:
                _write(os.path.join(d, "cgroup.procs"), "0")
        except OSError as exc:  # e.g. a v2 delegation rule: rlimits only, and say why
            self.kind, self.dirs, self.why = "", [], f"cannot join the cgroups: {exc}"
            return
        self.oom_kills_so_far()  # the count before any sample

    def oom_kills_so_far(self) -> int:
        """OOM kills in the sample's cgroup since ``reset`` (0 without cgroups)."""
        if not self.kind:
            return 0
        try:
            self._oom_seen = self._oom_kills()
        except (OSError, ValueError):
            return 0
        return max(0, self._oom_seen - self._oom_before)

    def report(self) -> dict:
        """After a sample: OOM kills in its cgroup, and its peak memory (v1)."""
        if not self.kind:
            return {}
        out = {"cgroup_oom_kills": self.oom_kills_so_far()}
        if self.kind == "v1":
            with contextlib.suppress(OSError, ValueError):
                peak = int(_read(os.path.join(self.dirs[0], "memory.max_usage_in_bytes")))
                out["cgroup_peak_mb"] = peak / (1024 * 1024)
        return out
