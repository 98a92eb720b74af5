"""Ad hoc runs share one local Prefect server: started once, found again, stopped on request."""

from __future__ import annotations

import json
import subprocess

import httpx
import pytest
from _deploy_support import BIN, clean_env
from _replies import basic_tasks, write_replay

pytestmark = [pytest.mark.deployment, pytest.mark.slow]


def _vivek(args: list[str], env: dict[str, str], timeout_s: float = 400.0):
    return subprocess.run(
        [str(BIN / "vivek"), *args], env=env, capture_output=True, text=True, timeout=timeout_s
    )


def test_two_runs_share_one_server_and_stop_ends_it(tmp_path):
    home = tmp_path / "home"
    env = clean_env(home)
    env.pop("VIVEK_SERVER", None)  # the default: a shared server
    tasks = basic_tasks(1)
    replay = write_replay(tmp_path / "m.jsonl", tasks, {tasks[0].id: ["ref"]})
    args = ["eval", "--models", f"replay:{replay}", "--suite", "basic", "--task-limit", "1",
            "--out", str(tmp_path / "out"), "--no-progress"]  # fmt: skip
    state_file = home / "vivek-server.json"
    try:
        first = _vivek(args, env)
        assert first.returncode == 0, first.stderr[-2000:]
        assert "Prefect server for vivek runs: http://127.0.0.1:" in first.stderr
        state = json.loads(state_file.read_text())
        api = f"http://127.0.0.1:{state['port']}/api"
        assert httpx.get(f"{api}/health", timeout=5).status_code == 200

        second = _vivek(args, env)
        assert second.returncode == 0, second.stderr[-2000:]
        assert "Prefect server for vivek runs" not in second.stderr  # found, not started
        assert json.loads(state_file.read_text()) == state
        # The CLI links the flow run's page on that server, and the page opens.
        (link,) = [ln.split()[-1] for ln in second.stdout.splitlines() if "flow run" in ln]
        assert link.startswith(f"http://127.0.0.1:{state['port']}/runs/flow-run/")
        # As a browser asks for it: the UI serves its pages to HTML navigations.
        page = httpx.get(link, headers={"Accept": "text/html"}, timeout=30, follow_redirects=True)
        assert page.status_code == 200 and "<html" in page.text.lower()

        # Both runs are on that one server, where a user can open them.
        runs = httpx.post(f"{api}/flow_runs/filter", json={}, timeout=10).json()
        done = {r["id"] for r in runs if r.get("state_type") == "COMPLETED"}
        assert len(done) >= 2

        status = _vivek(["server", "status"], env)
        assert api in status.stdout
        stopped = _vivek(["server", "stop"], env)
        assert stopped.returncode == 0 and "stopped" in stopped.stdout
        assert not state_file.exists()
        with pytest.raises(httpx.HTTPError):
            for _ in range(50):  # the process may take a moment to close its socket
                httpx.get(f"{api}/health", timeout=1)
                subprocess.run(["sleep", "0.2"], check=True)
    finally:
        _vivek(["server", "stop"], env, timeout_s=60)
