"""Sample cgroups: host-side creation and limits, worker-side join and its fallback."""

from __future__ import annotations

import os

import pytest

from tasks.sandbox import cgroups
from tasks.sandbox.inside import usage as _cgroup
from tasks.sandbox.types import Limits


def test_a_cgroup_that_cannot_be_joined_means_none_and_says_why(tmp_path):
    cg = _cgroup.Cgroups.from_argv(["v1", str(tmp_path / "missing"), str(tmp_path / "x")])
    cg.join()
    assert cg.kind == "" and "cannot join the cgroups" in cg.describe()["why"]
    cg.reset()
    assert cg.report() == {}
    assert _cgroup.Cgroups.from_argv([]).describe() == {"kind": None}


@pytest.mark.skipif(not cgroups.detect(), reason="no writable memory + pids cgroups here")
def test_host_creates_limits_and_removes_the_dirs():
    made = cgroups.SampleCgroup.create(4242, Limits(memory_mb=100, nproc=7))
    dirs = list(made.dirs)
    try:
        assert made.kind == cgroups.detect() and made.dirs
        for d in made.dirs:
            assert os.path.isdir(d)
        files = {n: os.path.join(d, n) for d in made.dirs for n in os.listdir(d)}
        memory = files.get("memory.limit_in_bytes") or files["memory.max"]
        with open(memory) as f:
            assert int(f.read()) == (100 + cgroups.SLACK_MB) * 2**20
        with open(files["pids.max"]) as f:
            assert int(f.read()) == 7 + cgroups.EXTRA_PIDS
    finally:
        made.remove()
    assert dirs and not any(os.path.exists(d) for d in dirs) and made.dirs == []


@pytest.mark.sandbox
@pytest.mark.skipif(not cgroups.detect(), reason="no writable memory + pids cgroups here")
@pytest.mark.parametrize("isolation", ["require", "none"])
def test_a_closed_sandbox_leaves_no_cgroup_behind(isolation):
    from tasks.sandbox import Job, Sandbox
    from tests.sandbox.conftest import GOOD, HAS_BWRAP, LIMITS

    if isolation == "require" and not HAS_BWRAP:
        pytest.skip("bubblewrap (as root) is not available")
    with Sandbox(LIMITS, workers=1, isolation=isolation) as sb:
        dirs = [d for w in sb._workers if w is not None for d in w.cgroup.dirs]
        assert sb.config["cgroups"] == cgroups.detect() and dirs
        assert sb.run([Job(code=GOOD.code, tests=GOOD.tests)])[0].status == "pass"
    assert not any(os.path.exists(d) for d in dirs)


@pytest.mark.skipif(not cgroups.detect(), reason="no writable memory + pids cgroups here")
def test_stale_cgroups_of_a_dead_host_are_swept():
    pid = os.fork()
    if pid == 0:  # pragma: no cover - a host that dies without cleaning up
        os._exit(0)
    os.waitpid(pid, 0)
    kind = cgroups.detect()
    parent = cgroups.ROOT if kind == "v2" else os.path.join(cgroups.ROOT, "memory")
    stale = os.path.join(parent, f"vivek-{pid}-77")
    os.mkdir(stale)
    assert cgroups.sweep_stale() >= 1
    assert not os.path.exists(stale)
