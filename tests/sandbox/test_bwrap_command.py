"""The bwrap argv keeps a checkout or venv under /tmp visible above the private /tmp."""

from tasks.sandbox import bwrap


def test_python_roots_under_tmp_are_bound_after_the_tmpfs(monkeypatch):
    monkeypatch.setattr(bwrap, "python_roots", lambda: ["/tmp/ci/.venv", "/opt/py"])
    cmd = bwrap.bwrap_command((61000, 61001), tmp_mb=64)
    tmpfs = cmd.index("--tmpfs")
    assert cmd[tmpfs + 1] == "/tmp"
    bind = max(i for i, a in enumerate(cmd) if a == "--ro-bind" and cmd[i + 1] == "/tmp/ci/.venv")
    assert bind > tmpfs
    # Nothing else of the host's /tmp or home is bound.
    binds = {cmd[i + 1] for i, a in enumerate(cmd) if a == "--ro-bind"}
    assert not any(b.startswith(("/root", "/home")) for b in binds)
    assert "--unshare-net" in cmd and "--clearenv" in cmd


def test_both_uids_and_the_cgroup_dirs_reach_the_worker():
    cmd = bwrap.bwrap_command((61000, 61001), 64, ("v1", ["/sys/fs/cgroup/memory/x", "/p/x"]))
    assert cmd[-6:] == ["61000", "61001", "-1", "v1", "/opt/vivek-cg/0", "/opt/vivek-cg/1"]
    bind = cmd.index("/sys/fs/cgroup/memory/x")
    assert cmd[bind - 1 : bind + 2] == ["--bind", "/sys/fs/cgroup/memory/x", "/opt/vivek-cg/0"]
    assert bwrap.plain_command("/w", None)[-4:] == ["/w", "-1", "-1", "-1"]
    assert bwrap.bwrap_command((1, 2), 64, cpu=1)[-3:] == ["1", "2", "1"]
