"""In-sandbox guards for the sample child: confinement and tamper detection.

Imports nothing from ``tasks``: it is bound read-only into the sandbox next to
``_worker.py``. ``confine`` runs in the freshly forked child before any untrusted code;
``snapshot``/``tampered`` compare the harness's critical objects before and after the
untrusted code ran.
"""

from __future__ import annotations

import json
import math
import os
import resource
import sys

MB = 1024 * 1024
# Modules whose identity the harness checks before and after untrusted code runs.
WATCHED_DICTS = (
    "builtins",
    "pytest",
    "_pytest.outcomes",
    "_pytest.python_api",
    "_pytest.raises",
    "__main__",
)
WATCHED = (
    "builtins",
    "sys",
    "os",
    "json",
    "pytest",
    "_pytest.outcomes",
    "_pytest.python_api",
    "_pytest.raises",
    "coverage",
    "__main__",
)


def confine(limits: dict, workdir: str, uid: int | None, out_w: int, err_w: int, ver_w: int):
    """Own session, fds 0-3 only, rlimits, the sample uid; return the verdict fd (3)."""
    os.setsid()
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(out_w, 1)
    os.dup2(err_w, 2)
    vfd = os.dup2(ver_w, 3)
    os.closerange(4, 65536)
    cpu = max(1, math.ceil(limits["cpu_s"]))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    mem = limits["memory_mb"] * MB
    resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
    fsize = limits["fsize_mb"] * MB
    resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if uid is not None:
        resource.setrlimit(resource.RLIMIT_NPROC, (limits["nproc"], limits["nproc"]))
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)
    os.chdir(workdir)
    if sys.path[:1] != [workdir]:  # the worker put it there already (coverage is warm)
        sys.path.insert(0, workdir)
    sys.path_importer_cache.pop(workdir, None)  # cached while the dir did not exist
    return vfd


def snapshot() -> dict:
    """The identity of every object the harness relies on."""
    mods = sys.modules
    snap = {f"{name}.": dict(vars(mods[name])) for name in WATCHED_DICTS if name in mods}
    snap["sys.modules"] = {name: mods.get(name) for name in WATCHED}
    snap["os"] = {k: getattr(os, k) for k in ("_exit", "write", "getpid", "kill", "close")}
    snap["json"] = {"dumps": json.dumps}
    snap["sys.meta_path"] = list(sys.meta_path)
    snap["sys.path_hooks"] = list(sys.path_hooks)
    snap["sys.settrace"] = {"trace": sys.gettrace(), "profile": sys.getprofile()}
    return snap


def tampered(before: dict) -> str:
    """What changed since ``before`` (a ``snapshot()``), or "" if nothing did."""
    after = snapshot()
    for group, old in before.items():
        new = after.get(group, {})
        if isinstance(old, list):
            if len(old) != len(new) or any(a is not b for a, b in zip(old, new, strict=False)):
                return f"{group} changed"
            continue
        for key in set(old) | set(new):
            if key not in old or key not in new or old[key] is not new[key]:
                return f"{group}{'' if group.endswith('.') else '.'}{key} replaced"
    return ""
