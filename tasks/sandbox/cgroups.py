"""Host side of the sample cgroups: one memory and one pids cgroup per worker.

RLIMIT_AS bounds one process and RLIMIT_NPROC counts per uid; a cgroup bounds the
whole process tree a sample starts: all its processes together share ``memory_mb`` and
``nproc``. cgroup v2 (one unified hierarchy with the memory and pids controllers
enabled) or v1 (separate ``memory`` and ``pids`` hierarchies), both writable by root;
otherwise none, and ``Sandbox.config`` records the limitation.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from dataclasses import dataclass, field

from tasks.sandbox.types import Limits

ROOT = "/sys/fs/cgroup"
MB = 1024 * 1024
# Room in the cgroup for the test process and the worker's per-sample allocations, which
# share it with the sample (the sample cannot grow past memory_mb by its own RLIMIT_AS).
SLACK_MB = 64
EXTRA_PIDS = 2  # the worker and the test process


def detect() -> str:
    """ "v2", "v1" or "" (no usable memory + pids cgroups; needs root)."""
    if os.geteuid() != 0:
        return ""
    controllers = os.path.join(ROOT, "cgroup.controllers")
    if os.path.exists(controllers):
        with open(controllers) as f:
            have = set(f.read().split())
        return "v2" if {"memory", "pids"} <= have else ""
    v1 = [os.path.join(ROOT, c, "cgroup.procs") for c in ("memory", "pids")]
    return "v1" if all(os.access(p, os.W_OK) for p in v1) else ""


def sweep_stale() -> int:
    """Remove empty sample cgroups whose creator is dead (a host killed with SIGKILL)."""
    removed = 0
    for controller in ("", "memory", "pids"):
        parent = os.path.join(ROOT, controller)
        with contextlib.suppress(OSError):
            for name in os.listdir(parent):
                parts = name.split("-")
                if len(parts) != 3 or parts[0] != "vivek" or not parts[1].isdigit():
                    continue
                if os.path.exists(f"/proc/{parts[1]}"):
                    continue
                with contextlib.suppress(OSError):
                    os.rmdir(os.path.join(parent, name))  # refused while not empty
                    removed += 1
    return removed


def _write(path: str, value: str) -> None:
    with open(path, "w") as f:
        f.write(value)


@dataclass
class SampleCgroup:
    """The cgroup dirs of one worker's samples (``kind`` "" when there are none)."""

    kind: str = ""
    dirs: list[str] = field(default_factory=list)

    @classmethod
    def none(cls) -> SampleCgroup:
        return cls()

    @classmethod
    def create(cls, uid: int, limits: Limits) -> SampleCgroup:
        """Make and limit the dirs; on any failure, none (the rlimits still apply)."""
        kind = detect()
        name = f"vivek-{os.getpid()}-{uid}"
        mem, pids = (limits.memory_mb + SLACK_MB) * MB, limits.nproc + EXTRA_PIDS
        if kind == "v2":
            dirs = [os.path.join(ROOT, name)]
            settings = {"memory.max": mem, "memory.swap.max": 0, "pids.max": pids}
        elif kind == "v1":
            dirs = [os.path.join(ROOT, "memory", name), os.path.join(ROOT, "pids", name)]
            settings = {"memory.limit_in_bytes": mem, "pids.max": pids}
        else:
            return cls()
        made = cls(kind, [])
        try:
            for d in dirs:
                os.mkdir(d, 0o755)
                made.dirs.append(d)
            for key, value in settings.items():
                target = next(d for d in dirs if os.path.exists(os.path.join(d, key)))
                _write(os.path.join(target, key), str(value))
            if kind == "v1":  # no swap either, where the kernel accounts it
                with contextlib.suppress(OSError):
                    _write(os.path.join(dirs[0], "memory.memsw.limit_in_bytes"), str(mem))
        except (OSError, StopIteration):
            made.remove()
            return cls()
        return made

    def remove(self, timeout_s: float = 2.0) -> None:
        """Remove the dirs once their last process is gone (killing stragglers)."""
        deadline = time.monotonic() + timeout_s
        for d in self.dirs:
            while True:
                try:
                    os.rmdir(d)
                    break
                except FileNotFoundError:
                    break
                except OSError:  # busy: processes of a worker that is still dying
                    if time.monotonic() > deadline:
                        break
                    _kill_members(d)
                    time.sleep(0.01)
        self.dirs = []


def _kill_members(cgroup_dir: str) -> None:
    with contextlib.suppress(OSError, ValueError):
        with open(os.path.join(cgroup_dir, "cgroup.procs")) as f:
            pids = [int(p) for p in f.read().split()]
        for pid in pids:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
