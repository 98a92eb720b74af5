"""The bwrap argv keeps a checkout or venv under /tmp visible above the private /tmp."""

from tasks.sandbox import bwrap


def test_python_roots_under_tmp_are_bound_after_the_tmpfs(monkeypatch):
    monkeypatch.setattr(bwrap, "python_roots", lambda: ["/tmp/ci/.venv", "/opt/py"])
    cmd = bwrap.bwrap_command(uid=61000, tmp_mb=64)
    tmpfs = cmd.index("--tmpfs")
    assert cmd[tmpfs + 1] == "/tmp"
    bind = max(i for i, a in enumerate(cmd) if a == "--ro-bind" and cmd[i + 1] == "/tmp/ci/.venv")
    assert bind > tmpfs
    # Nothing else of the host's /tmp or home is bound.
    binds = {cmd[i + 1] for i, a in enumerate(cmd) if a == "--ro-bind"}
    assert not any(b.startswith(("/root", "/home")) for b in binds)
    assert "--unshare-net" in cmd and "--clearenv" in cmd
