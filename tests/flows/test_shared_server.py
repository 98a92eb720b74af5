"""Ad hoc runs share one local Prefect server: the first ``vivek eval`` starts it, later runs
find it, its flow-run link opens the run in a browser, ``vivek server stop`` ends it.

A fresh ``PREFECT_HOME``, as on a fresh clone. One scenario, one server start: each step
needs the state the one before left. Headless Chromium opens the printed link as a person
would; the UI must reach this server's API (not the default port 4200) and render the run:
its name, its log lines, and on the Artifacts tab its four artifacts.
"""

from __future__ import annotations

import json
import subprocess

import httpx
import psutil
import pytest
from _chromium import Browser
from _deploy_support import BIN, clean_env, wait_until
from _replies import basic_tasks, write_replay

pytestmark = [pytest.mark.deployment, pytest.mark.slow]

ARTIFACTS = ("vivek-progress", "vivek-leaderboard", "vivek-report", "vivek-files")


def vivek(args: list[str], env: dict[str, str], timeout_s: float = 400.0):
    return subprocess.run(
        [str(BIN / "vivek"), *args], env=env, capture_output=True, text=True, timeout=timeout_s
    )


def flow_run_link(stdout: str, port: int) -> str:
    (link,) = [ln.split()[-1] for ln in stdout.splitlines() if "flow run" in ln]
    assert link.startswith(f"http://127.0.0.1:{port}/runs/flow-run/")
    return link


def test_the_first_run_starts_the_shared_server_later_runs_find_it_and_stop_ends_it(tmp_path):
    home = tmp_path / "home"
    env = clean_env(home)
    env.pop("VIVEK_SERVER", None)  # the default: the shared server, with its UI
    env.pop("PREFECT_LOGGING_LEVEL", None)  # vivek's default: INFO to the run's Logs tab
    tasks = basic_tasks(3)
    replay = write_replay(tmp_path / "alpha.jsonl", tasks, {t.id: ["ref"] for t in tasks})
    args = ["eval", "--models", f"replay:{replay},reference:basic", "--suite", "basic",
            "--task-limit", "3", "--out", str(tmp_path / "out"), "--no-progress"]  # fmt: skip
    state_file = home / "vivek-server.json"
    try:
        first = vivek(args, env)
        assert first.returncode == 0, first.stderr[-3000:]
        # The wait for the server is said before it happens, not after 20 silent seconds.
        assert first.stderr.index("Starting a Prefect server") < first.stderr.index(
            "Prefect server for vivek runs: http://127.0.0.1:"
        )
        state = json.loads(state_file.read_text())
        port = state["port"]
        api = f"http://127.0.0.1:{port}/api"
        assert httpx.get(f"{api}/health", timeout=5).status_code == 200
        assert (
            httpx.get(f"http://127.0.0.1:{port}/ui-settings", timeout=10).json()["api_url"] == api
        )
        link = flow_run_link(first.stdout, port)
        flow_run = httpx.get(f"{api}/flow_runs/{link.rsplit('/', 1)[-1]}", timeout=10).json()
        with Browser(tmp_path / "chromium") as browser:
            browser.goto(link)
            text = browser.wait_for_text(flow_run["name"], "Beginning flow run", "wrote 6 rows")
            assert "vivek-evaluate" in text and "Completed" in text
            assert "Can't connect" not in text
            browser.click_text("Artifacts")
            # The leaderboard's description (the decision) names the baseline as such.
            browser.wait_for_text(*ARTIFACTS, "reference:basic (baseline)")
            browser.screenshot(tmp_path / "flow-run.png")

        second = vivek(args, env)
        assert second.returncode == 0, second.stderr[-2000:]
        assert "Prefect server for vivek runs" not in second.stderr  # found, not started
        assert json.loads(state_file.read_text()) == state
        # As a browser asks for it: the UI serves its pages to HTML navigations.
        page = httpx.get(
            flow_run_link(second.stdout, port),
            headers={"Accept": "text/html"},
            timeout=30,
            follow_redirects=True,
        )
        assert page.status_code == 200 and "<html" in page.text.lower()
        # Both runs are on that one server, where a user can open them.
        runs = httpx.post(f"{api}/flow_runs/filter", json={}, timeout=10).json()
        assert len({r["id"] for r in runs if r.get("state_type") == "COMPLETED"}) == 2

        status = vivek(["server", "status"], env)
        assert (
            status.returncode == 0 and status.stdout.startswith("running") and api in status.stdout
        )
        stopped = vivek(["server", "stop"], env)
        assert stopped.returncode == 0 and stopped.stdout.strip() == "stopped"
        assert not state_file.exists()
        wait_until(lambda: not psutil.pid_exists(state["pid"]), timeout_s=60,
                   what="the shared server to exit")  # fmt: skip
        with pytest.raises(httpx.HTTPError):
            httpx.get(f"{api}/health", timeout=1)
        status = vivek(["server", "status"], env)
        assert status.returncode == 3 and status.stdout.strip() == "not running"
    finally:
        vivek(["server", "stop"], env, timeout_s=60)
