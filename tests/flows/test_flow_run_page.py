"""The flow-run link ``vivek eval`` prints opens a working page of the Prefect UI.

A fresh ``PREFECT_HOME`` (as on a fresh clone): ``vivek eval`` starts the shared server,
prints the link, and headless Chromium opens it as a person would. The UI must reach
this server's API (not the default port 4200) and render the run: its name, its log
lines, and on the Artifacts tab its four artifacts.
"""

from __future__ import annotations

import json
import subprocess

import httpx
import pytest
from _chromium import Browser
from _deploy_support import BIN, clean_env
from _replies import basic_tasks, write_replay

pytestmark = [pytest.mark.deployment, pytest.mark.slow]

ARTIFACTS = ("vivek-progress", "vivek-leaderboard", "vivek-report", "vivek-files")


def vivek(args: list[str], env: dict[str, str], timeout_s: float = 400.0):
    return subprocess.run(
        [str(BIN / "vivek"), *args], env=env, capture_output=True, text=True, timeout=timeout_s
    )


def test_the_printed_flow_run_link_shows_the_run_in_a_browser(tmp_path):
    env = clean_env(tmp_path / "home")
    env.pop("VIVEK_SERVER", None)  # the default: the shared server, with its UI
    env.pop("PREFECT_LOGGING_LEVEL", None)  # vivek's default: INFO to the run's Logs tab
    tasks = basic_tasks(3)
    replay = write_replay(tmp_path / "alpha.jsonl", tasks, {t.id: ["ref"] for t in tasks})
    args = ["eval", "--models", f"replay:{replay},reference:basic", "--suite", "basic",
            "--task-limit", "3", "--out", str(tmp_path / "out"), "--no-progress"]  # fmt: skip
    try:
        run = vivek(args, env)
        assert run.returncode == 0, run.stderr[-3000:]
        # The wait for the server is said before it happens, not after 20 silent seconds.
        assert run.stderr.index("Starting a Prefect server") < run.stderr.index(
            "Prefect server for vivek runs: http://127.0.0.1:"
        )
        port = json.loads((tmp_path / "home" / "vivek-server.json").read_text())["port"]
        api = f"http://127.0.0.1:{port}/api"
        assert (
            httpx.get(f"http://127.0.0.1:{port}/ui-settings", timeout=10).json()["api_url"] == api
        )
        (link,) = [ln.split()[-1] for ln in run.stdout.splitlines() if "flow run" in ln]
        assert link.startswith(f"http://127.0.0.1:{port}/runs/flow-run/")
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
    finally:
        vivek(["server", "stop"], env, timeout_s=60)
