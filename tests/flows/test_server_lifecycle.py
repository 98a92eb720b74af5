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


def start_servers(tmp_path, idle_minutes: list[str]) -> list[tuple[dict, int]]:
    """``vivek server start`` at once in fresh PREFECT_HOMEs, one per idle time: (env, pid)."""
    procs = []
    for i, idle in enumerate(idle_minutes):
        env = clean_env(tmp_path / f"home-{i}", VIVEK_SERVER_IDLE_MINUTES=idle)
        cmd = [str(BIN / "vivek"), "server", "start"]
        procs.append((env, Proc(cmd, tmp_path / f"start-{i}.log", env)))
    started = []
    for env, proc in procs:
        assert proc.wait(400) == 0, proc.log.read_text()
        assert "Prefect server for vivek runs: UI http://127.0.0.1:" in proc.log.read_text()
        state = json.loads((tmp_path / env["PREFECT_HOME"] / "vivek-server.json").read_text())
        started.append((env, state["pid"]))
    return started


def status(env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "vivek"), "server", "status"], env=env,
                          capture_output=True, text=True, timeout=120)  # fmt: skip


def test_unused_servers_stop_themselves_and_stop_all_finds_the_rest(tmp_path):
    # One stops after 3 s without a request; one never does. Only the one that never stops
    # is looked for: the other may already have stopped on a loaded machine.
    (idle, pid_idle), (kept, pid_kept) = start_servers(tmp_path, ["0.05", "0"])
    pids = {pid_idle, pid_kept}
    try:
        assert pid_kept in {p.pid for p in vivek_servers()}  # found whatever its PREFECT_HOME
        wait_until(lambda: not psutil.pid_exists(pid_idle),
                   timeout_s=180, what="the idle server to stop itself")  # fmt: skip
        assert not (tmp_path / idle["PREFECT_HOME"] / "vivek-server.json").exists()
        answer = status(idle)
        assert answer.returncode == 3 and answer.stdout.strip() == "not running"
        answer = status(kept)
        assert answer.returncode == 0 and answer.stdout.startswith("running: UI http://127.0.0.1:")
        assert psutil.pid_exists(pid_kept)
        assert stop_all([p for p in vivek_servers() if p.pid == pid_kept]) == 1
        assert not psutil.pid_exists(pid_kept)
    finally:
        stop_all([p for p in vivek_servers() if p.pid in pids])
