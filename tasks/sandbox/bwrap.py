"""How a worker process is launched: inside bubblewrap, or (fallback) as a plain subprocess."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path

# The in-sandbox code: the package ``inside`` (see its ``protocol`` module), whose files
# alone are bound into the sandbox, as the package ``vivek_inside``.
INSIDE_DIR = Path(__file__).with_name("inside")
SANDBOX_FILES = tuple(sorted(p.name for p in INSIDE_DIR.glob("*.py")))
SANDBOX_DIR = "/opt/vivek"
SANDBOX_PACKAGE = f"{SANDBOX_DIR}/vivek_inside"
SANDBOX_WORKDIR = "/tmp/run"
# Loads the package from its folder under the name ``vivek_inside`` (no ``tasks`` import)
# and runs the worker; the folder is the first argument.
BOOT = (
    "import importlib.util as u,sys;d=sys.argv.pop(1);"
    "s=u.spec_from_file_location('vivek_inside',d+'/__init__.py',submodule_search_locations=[d]);"
    "m=u.module_from_spec(s);sys.modules['vivek_inside']=m;s.loader.exec_module(m);"
    "import vivek_inside.worker as w;w.main()"
)
# Only these variables exist in the sandbox; nothing from the host environment leaks in.
CLEAN_ENV = {
    "PATH": "/usr/local/bin:/usr/bin:/bin",
    "HOME": "/tmp",
    "LANG": "C.UTF-8",
    "PYTHONDONTWRITEBYTECODE": "1",
    "PYTHONHASHSEED": "0",
    # glibc reserves 64 MB of address space per thread's arena: with RLIMIT_AS at
    # memory_mb, a few threads would exhaust it with nothing allocated.
    "MALLOC_ARENA_MAX": "2",
}
# The worker keeps only what it needs to drop to the sample uid, prepare and clean the
# work dir and kill leftovers; the sample child has no capability at all.
WORKER_CAPS = (
    "CAP_SETUID",
    "CAP_SETGID",
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FOWNER",
    "CAP_KILL",
)
SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64")


@cache
def bwrap_version() -> str | None:
    """The installed bubblewrap version, or None when it is missing or cannot run."""
    exe = shutil.which("bwrap")
    if exe is None:
        return None
    try:
        out = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.split()[-1] if out.returncode == 0 and out.stdout.split() else None


def python_roots() -> list[str]:
    """Directories the interpreter and its packages live in (bound read-only)."""
    roots = {os.path.realpath(p) for p in (sys.base_prefix, sys.prefix)}
    roots.add(os.path.dirname(os.path.realpath(sys.executable)))
    roots = {r for r in roots if not any(r.startswith(d + "/") for d in SYSTEM_DIRS)}
    # Drop roots nested inside another root.
    return sorted(r for r in roots if not any(r.startswith(o + "/") for o in roots if o != r))


def bwrap_command(
    uids: tuple[int, int],
    tmp_mb: int,
    cgroup: tuple[str, list[str]] = ("", []),
    cpu: int | None = None,
) -> list[str]:
    """The bwrap argv that starts one worker.

    No network, no IPC, own PID namespace; a fresh size-capped tmpfs on /tmp; read-only
    binds of the system dirs and the Python prefixes only, so ``$HOME`` (and its
    ``.ssh``), the repository and the rest of the host are not visible. ``uids`` are the
    solution's and the tests' uids; ``cgroup`` is (kind, host dirs) of the sample's
    cgroups, bound read-write under ``/opt/vivek-cg``; ``cpu`` the core the worker and
    every process of its samples keep to (see ``Sandbox``).
    """
    cmd = [
        "bwrap",
        "--unshare-ipc",
        "--unshare-pid",
        "--unshare-net",
        "--unshare-uts",
        "--die-with-parent",
        "--new-session",
        "--cap-drop",
        "ALL",
    ]
    for cap in WORKER_CAPS:
        cmd += ["--cap-add", cap]
    for d in SYSTEM_DIRS:
        if os.path.islink(d):
            cmd += ["--symlink", os.readlink(d), d]
        elif os.path.isdir(d):
            cmd += ["--ro-bind", d, d]
    cmd += ["--proc", "/proc", "--dev", "/dev",
            "--perms", "0755", "--size", str(tmp_mb * 1024 * 1024), "--tmpfs", "/tmp"]  # fmt: skip
    # The Python roots come after the tmpfs: a checkout or venv under /tmp (as in CI)
    # must stay visible, read-only, above the sandbox's private /tmp.
    made: set[str] = set()
    for root in python_roots():
        # bwrap creates missing parents mode 0700, which the sample uid could not traverse.
        for parent in reversed(Path(root).parents[:-1]):
            if str(parent) not in made:
                made.add(str(parent))
                cmd += ["--perms", "0755", "--dir", str(parent)]
        cmd += ["--ro-bind", root, root]
    for name in SANDBOX_FILES:  # the files only: the rest of the repository stays unseen
        cmd += ["--ro-bind", str(INSIDE_DIR / name), f"{SANDBOX_PACKAGE}/{name}"]
    kind, dirs = cgroup
    if not kind:  # with cgroups bound, no cgroup namespace: cgroup v2 refuses moves across one
        cmd.insert(1, "--unshare-cgroup-try")
    inside = [f"{SANDBOX_DIR}-cg/{i}" for i in range(len(dirs))]
    for host, there in zip(dirs, inside, strict=True):
        cmd += ["--bind", host, there]
    cmd += ["--remount-ro", "/", "--clearenv"]
    for key, value in CLEAN_ENV.items():
        cmd += ["--setenv", key, value]
    core = str(-1 if cpu is None else cpu)
    cmd += ["--chdir", "/tmp", "--", sys.executable, "-s", "-B", "-P", "-c", BOOT,
            SANDBOX_PACKAGE, SANDBOX_WORKDIR, *map(str, uids), core]  # fmt: skip
    return cmd + ([kind, *inside] if kind else [])


def readable_by_others(path: str) -> bool:
    """Whether an unprivileged uid can traverse to ``path`` and read it."""
    p = Path(path)
    for d in [p, *p.parents]:
        try:
            mode = d.stat().st_mode
        except OSError:
            return False
        if not mode & 0o001 or (d == p and not mode & 0o004):
            return False
    return True


def plain_command(
    workdir: str,
    uids: tuple[int, int] | None,
    cgroup: tuple[str, list[str]] = ("", []),
    cpu: int | None = None,
) -> list[str]:
    """The fallback argv: the same worker, rlimits only, clean environment."""
    ids = ["-1", "-1"] if uids is None else [str(u) for u in uids]
    ids.append(str(-1 if cpu is None else cpu))
    kind, dirs = cgroup
    return [sys.executable, "-s", "-B", "-P", "-c", BOOT, str(INSIDE_DIR), workdir, *ids,
            *([kind, *dirs] if kind else [])]  # fmt: skip
