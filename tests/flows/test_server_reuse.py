"""Ad hoc runs share one local Prefect server: started once, found again, stopped on request."""

from __future__ import annotations

import json
import os
import subprocess

import pytest
from _deploy_support import BIN, clean_env
from _replies import basic_tasks, write_replay

from flows import server

pytestmark = [pytest.mark.deployment, pytest.mark.slow]


def _vivek(args: list[str], env: dict[str, str], timeout_s: float = 400.0):
    return subprocess.run(
        [str(BIN / "vivek"), *args], env=env, capture_output=True, text=True, timeout=timeout_s
    )


def test_two_runs_share_one_server_and_stop_ends_it(tmp_path, monkeypatch):
    home = tmp_path / "home"
    env = clean_env(home)
    env.pop("VIVEK_SERVER", None)
    monkeypatch.setenv("PREFECT_HOME", str(home))
    tasks = basic_tasks(1)
    replay = write_replay(tmp_path / "m.jsonl", tasks, {tasks[0].id: ["ref"]})
    args = ["eval", "--models", f"replay:{replay}", "--suite", "basic", "--task-limit", "1",
            "--out", str(tmp_path / "out"), "--no-progress"]  # fmt: skip
    try:
        first = _vivek(args, env)
        assert first.returncode == 0, first.stderr[-2000:]
        state = server.read_state()
        assert state is not None and server.healthy(state)
        assert "Prefect UI: http://127.0.0.1:" in first.stdout

        second = _vivek(args, env)
        assert second.returncode == 0, second.stderr[-2000:]
        assert server.read_state() == state  # found again, not started anew

        # Both flow runs are on that one server, where a user can open them.
        import httpx

        runs = httpx.post(f"{state.api_url}/flow_runs/filter", json={}, timeout=10).json()
        evaluate_runs = [r for r in runs if r["name"] and r.get("state_type") == "COMPLETED"]
        assert len({r["id"] for r in evaluate_runs}) >= 2

        stopped = _vivek(["server", "stop"], env)
        assert stopped.returncode == 0 and "stopped" in stopped.stdout
        assert not server.healthy(state)
        assert server.read_state() is None
    finally:
        server.stop_server()


def test_a_stale_state_file_is_replaced_and_api_url_wins(tmp_path, monkeypatch):
    monkeypatch.setenv("PREFECT_HOME", str(tmp_path))
    monkeypatch.delenv("VIVEK_SERVER", raising=False)
    # A state file naming a dead process on a closed port is not trusted.
    server.state_path().write_text(json.dumps({"pid": 2**22 + 7, "port": 1}), encoding="utf-8")
    assert server.read_state() == server.ServerState(pid=2**22 + 7, port=1)
    assert not server.healthy(server.read_state())
    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:9/api")
    assert server.ensure_server() is None  # a configured server is the user's choice
    assert os.environ["PREFECT_API_URL"] == "http://127.0.0.1:9/api"
    assert server.stop_server() is False  # nothing alive to stop; the stale file is gone
    assert server.read_state() is None
