"""Ad hoc start-up: a one-task replay ``vivek eval`` against Prefect's own hello-world flow.

Both run as fresh processes, as a user types them. Prefect's hello-world pays for its
temporary server every time; ``vivek eval`` finds the local server an earlier run left
(``flows/server.py``), so the figure is the time of the second and later ad hoc runs.
Also measured: how long a missing API key takes to be reported.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import Outcome

BIN = Path(sys.executable).parent
HELLO = "from prefect import flow\n\n@flow\ndef hello():\n    return 'hi'\n\nhello()\n"
TARGET = 0.5


def _timed(cmd: list[str], env: dict[str, str]) -> tuple[float, subprocess.CompletedProcess]:
    start = time.perf_counter()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    return time.perf_counter() - start, done


def run(quick: bool = False) -> Outcome:
    from tasks.suites.load import load_suite

    repeats = 1 if quick else 3
    with tempfile.TemporaryDirectory(prefix="vivek-bench-startup-") as tmp:
        root = Path(tmp)
        task = load_suite("basic", limit=1).tasks[0]
        replay = root / "m.jsonl"
        reply = f"```python\n{task.reference}```\n"
        replay.write_text(json.dumps({"task_id": task.id, "completion": reply}) + "\n")
        (root / "hello.py").write_text(HELLO)
        env = {k: v for k, v in os.environ.items() if k not in ("PREFECT_API_URL", "VIVEK_SERVER")}
        env.update(PREFECT_HOME=str(root / "home"), PREFECT_SERVER_ANALYTICS_ENABLED="false")
        for key in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY"):
            env.pop(key, None)
        vivek = str(BIN / "vivek")
        args = [vivek, "eval", "--models", f"replay:{replay}", "--suite", "basic",
                "--task-limit", "1", "--out", str(root / "out"), "--no-progress"]  # fmt: skip
        try:
            first, done = _timed(args, env)  # starts the shared server
            if done.returncode != 0:
                raise RuntimeError(f"vivek eval failed: {done.stderr[-500:]}")
            evals, hellos = [], []
            for _ in range(repeats):  # interleaved, so load changes hit both alike
                evals.append(_timed(args, env)[0])
                hello_env = dict(env, VIVEK_SERVER="ephemeral")
                hellos.append(_timed([sys.executable, str(root / "hello.py")], hello_env)[0])
            no_key = [vivek, "eval", "--models", "openai:gpt-4o-mini", "--suite", "basic",
                      "--task-limit", "1", "--out", str(root / "out2")]  # fmt: skip
            key_s, key_run = _timed(no_key, env)
        finally:
            subprocess.run([vivek, "server", "stop"], env=env, capture_output=True, timeout=60)
    ratio = min(evals) / min(hellos)
    return Outcome(
        name="startup",
        figure="ad hoc one-task replay eval vs Prefect's hello-world on its temporary server",
        value=ratio,
        unit="x",
        target=f"<= {TARGET}x",
        met=ratio <= TARGET,
        details={
            "eval_s": evals,
            "hello_s": hellos,
            "first_eval_s": first,
            "missing_key_s": key_s,
            "missing_key_exit": key_run.returncode,
        },
        notes=(
            f"Best of {repeats}: eval {min(evals):.1f} s (server already running; the first "
            f"run, which starts it, took {first:.1f} s) vs hello-world {min(hellos):.1f} s. "
            f"A missing OpenAI key was reported in {key_s:.1f} s (exit {key_run.returncode})."
        ),
    )
