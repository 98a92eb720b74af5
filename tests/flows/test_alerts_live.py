"""Regressions reach a person: events -> the shipped automation -> a webhook block -> HTTP.

The session's real ``prefect server`` (with its triggers and actions services), the
README's three commands for the block and the automation, and ``vivek eval`` runs of
replayed models: the second run is much worse for one model, the third equals the second.
A loopback HTTP receiver stands in for Slack.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from _deploy_support import BIN, PrefectStack, Proc, free_port, tail
from _replies import basic_tasks, write_replay

pytestmark = [pytest.mark.deployment, pytest.mark.slow]

TASKS = basic_tasks(12)
WAIT_S = 90.0
SETTLE_S = 5.0


class Receiver:
    """A loopback HTTP endpoint that keeps every body POSTed to it."""

    def __init__(self) -> None:
        self.bodies: list[str] = []
        received = self.bodies

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                size = int(self.headers.get("Content-Length") or 0)
                received.append(self.rfile.read(size).decode("utf-8", "replace"))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                return None

        self.port = free_port()
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def close(self) -> None:
        self.server.shutdown()


def run(stack: PrefectStack, args: list[str], name: str, timeout_s: float = 400.0) -> str:
    log = stack.base / f"{name}.log"
    code = Proc(args, log, stack.client_env).wait(timeout_s)
    text = log.read_text(encoding="utf-8", errors="replace")
    assert code == 0, f"{' '.join(args[:3])} exited {code}\n{tail(log)}"
    return text


def test_a_regression_notifies_through_the_shipped_automation(
    tmp_path, prefect_stack: PrefectStack
):
    stack = prefect_stack
    receiver = Receiver()
    try:
        vivek, prefect = str(BIN / "vivek"), str(BIN / "prefect")
        # The README's three commands.
        run(stack, [vivek, "alerts", "webhook", receiver.url], "block")
        yaml_text = run(stack, [vivek, "alerts", "automation", "--block", "vivek-alerts"], "auto")
        automation = tmp_path / "regression.yaml"
        automation.write_text(yaml_text, encoding="utf-8")
        run(stack, [prefect, "automation", "create", "--from-file", str(automation)], "create")

        out = tmp_path / "out"
        a, b = tmp_path / "alpha.jsonl", tmp_path / "beta.jsonl"
        write_replay(b, TASKS, {t.id: ["ref"] for t in TASKS})

        def evaluate(kind: str, name: str) -> None:
            write_replay(a, TASKS, {t.id: [kind] for t in TASKS})
            models = f"replay:{a},replay:{b}"
            cmd = [vivek, "eval", "--models", models, "--suite", "basic", "--task-limit",
                   str(len(TASKS)), "--out", str(out)]  # fmt: skip
            run(stack, cmd, name)

        evaluate("ref", "run1")  # first run: nothing to compare with
        evaluate("wrong", "run2")  # alpha falls from 12/12 to 0/12
        finished = time.monotonic()
        while not receiver.bodies and time.monotonic() < finished + WAIT_S:
            time.sleep(0.2)
        assert receiver.bodies, f"no notification arrived\n{tail(stack.procs[0].log)}"
        # Nothing can prove that no alert will ever come: wait three times as long as the
        # first one took after its run (at least SETTLE_S) for the rest, and for any stray.
        settle_s = max(SETTLE_S, 3 * (time.monotonic() - finished))
        time.sleep(settle_s)  # let every alert of run 2 arrive before run 3
        texts = [json.loads(body)["text"] for body in receiver.bodies]
        regressed = [t for t in texts if "vivek.model.regressed" in t]
        assert len(regressed) == 1, texts
        assert "replay:alpha regressed on basic" in regressed[0]
        # Markdown, names escaped: a renderer (Slack, a chat) shows "1.000 -> 0.000".
        assert "1.000 -&gt; 0.000" in regressed[0] and "95% CI" in regressed[0]
        assert "report" in regressed[0].lower()
        assert any("vivek.winner.changed" in t for t in texts), texts

        seen = len(receiver.bodies)
        evaluate("wrong", "run3")  # equal to run 2: nothing to say
        time.sleep(settle_s)
        assert len(receiver.bodies) == seen, receiver.bodies[seen:]
    except BaseException:
        print(stack.logs)
        raise
    finally:
        receiver.close()
        # The session's server lives on: later runs there must not fire this automation.
        run(stack, [str(BIN / "prefect"), "automation", "delete", "--all"], "delete")
