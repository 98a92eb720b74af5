"""Servers vivek starts do not outlive their use: an unused one stops itself, and
``vivek server stop --all`` finds every one, whatever its ``PREFECT_HOME``.

The machine is shared: the test stops only the servers it started (it never runs
``stop --all`` itself, which would stop other people's servers too).
"""

from __future__ import annotations

import json
import subprocess

import psutil
import pytest
from _deploy_support import BIN, Proc, clean_env, wait_until

from flows.server import stop_all, vivek_servers

pytestmark = [pytest.mark.deployment, pytest.mark.slow]


def start_servers(tmp_path, count: int, idle_minutes: str) -> list[tuple[dict, int]]:
    """``vivek server start`` in ``count`` fresh PREFECT_HOMEs at once: (env, pid) each."""
    procs = []
    for i in range(count):
        home = tmp_path / f"home-{idle_minutes}-{i}"
        env = clean_env(home, VIVEK_SERVER_IDLE_MINUTES=idle_minutes)
        cmd = [str(BIN / "vivek"), "server", "start"]
        procs.append((env, Proc(cmd, tmp_path / f"start-{idle_minutes}-{i}.log", env)))
    started = []
    for env, proc in procs:
        assert proc.wait(400) == 0, proc.log.read_text()
        state = json.loads((tmp_path / env["PREFECT_HOME"] / "vivek-server.json").read_text())
        started.append((env, state["pid"]))
    return started


def status(env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "vivek"), "server", "status"], env=env,
                          capture_output=True, text=True, timeout=120)  # fmt: skip


def test_unused_servers_stop_themselves(tmp_path):
    servers = start_servers(tmp_path, 3, idle_minutes="0.05")  # 3 s without a request
    pids = {pid for _, pid in servers}
    try:
        assert pids <= {p.pid for p in vivek_servers()}
        wait_until(lambda: not any(psutil.pid_exists(pid) for pid in pids), timeout_s=180,
                   what="idle servers to stop themselves")  # fmt: skip
        for env, _ in servers:
            assert not (tmp_path / env["PREFECT_HOME"] / "vivek-server.json").exists()
            answer = status(env)
            assert answer.returncode == 3 and answer.stdout.strip() == "not running"
    finally:
        stop_all([p for p in vivek_servers() if p.pid in pids])


def test_stop_all_ends_servers_of_every_home(tmp_path):
    servers = start_servers(tmp_path, 2, idle_minutes="0")  # never idle-stopped
    pids = {pid for _, pid in servers}
    mine = [p for p in vivek_servers() if p.pid in pids]
    assert len(mine) == 2  # found whatever their PREFECT_HOME
    answer = status(servers[0][0])
    assert answer.returncode == 0 and answer.stdout.startswith("running: UI http://127.0.0.1:")
    assert stop_all(mine) == 2
    assert not any(psutil.pid_exists(pid) for pid in pids)
