"""``vivek server start``: later runs with the same PREFECT_HOME reuse one server."""

from __future__ import annotations

import json
import subprocess
import time

import pytest
from _deploy_support import BIN, clean_env, wait_until

pytestmark = pytest.mark.slow


def vivek(args: list[str], env: dict, cwd, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(BIN / "vivek"), *args], env=env, cwd=cwd, capture_output=True, text=True,
        timeout=timeout,
    )  # fmt: skip


def test_runs_reuse_a_started_server_and_stop_removes_it(tmp_path):
    home = tmp_path / "prefect-home"
    env = clean_env(home)
    started = vivek(["server", "start"], env, tmp_path)
    try:
        assert started.returncode == 0 and "http://127.0.0.1:" in started.stdout, started
        state = json.loads((home / "vivek-server.json").read_text())
        assert vivek(["server", "status"], env, tmp_path).stdout.startswith("running")
        argv = ["eval", "--models", "mock:x", "--suite", "basic", "--task-limit", "1"]
        argv += ["--out", str(tmp_path / "out"), "--no-progress"]
        clock = time.monotonic()
        run = vivek(argv, env, tmp_path)
        print(f"eval on the shared server took {time.monotonic() - clock:.1f} s")
        assert run.returncode == 0, run.stderr
        # The run used the shared server: its flow run is stored there.
        import httpx

        url = f"http://127.0.0.1:{state['port']}/api/flows/filter"
        names = {f["name"] for f in httpx.post(url, json={}, timeout=10).json()}
        assert "vivek-evaluate" in names
    finally:
        stopped = vivek(["server", "stop"], env, tmp_path)
    assert stopped.stdout.strip() == "stopped"
    wait_until(
        lambda: subprocess.run(["kill", "-0", str(state["pid"])]).returncode != 0,
        timeout_s=60,
        what="the shared server to exit",
    )
    assert vivek(["server", "status"], env, tmp_path).stdout.strip() == "not running"
