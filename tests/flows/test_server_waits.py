"""The server pieces that need no Prefect server: the idle clock, and a configured
``PREFECT_API_URL`` that is starting (waited for) or never answers (one sentence, exit 2)."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from flows.cli import main
from flows.server import wait_for_configured_api
from flows.server_main import IdleWatch
from tasks.errors import UsageError


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_the_idle_clock_counts_from_the_last_request_and_not_while_one_is_open():
    gate = asyncio.Event()

    async def app(scope, receive, send):
        if scope["path"] == "/slow":
            await gate.wait()

    watch = IdleWatch(app)

    async def scenario():
        watch.last_use -= 100  # unused for 100 s, but still starting: not idle
        assert watch.idle_for() == 0
        watch.serving = True
        assert watch.idle_for() >= 100
        slow = asyncio.create_task(watch({"type": "http", "path": "/slow"}, None, None))
        await asyncio.sleep(0)
        assert watch.open == 1 and watch.idle_for() == 0  # a connection is open: in use
        gate.set()
        await slow
        assert watch.open == 0 and watch.idle_for() < 5  # used just now

    asyncio.run(scenario())


def test_the_clock_starts_after_start_up_and_the_cleanup_runs_after_shutdown():
    cleaned = []

    async def app(scope, receive, send):
        await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})

    async def send(message):
        cleaned.append(("sent", message["type"]))

    watch = IdleWatch(app, on_shutdown=lambda: cleaned.append("cleanup"))
    asyncio.run(watch({"type": "lifespan"}, None, send))
    assert watch.serving  # the idle clock runs from the end of the start-up
    assert cleaned == [
        ("sent", "lifespan.startup.complete"),
        ("sent", "lifespan.shutdown.complete"),
        "cleanup",
    ]


@pytest.mark.slow
def test_a_configured_api_that_never_answers_is_one_sentence_and_exit_2(
    tmp_path, capsys, monkeypatch
):
    from prefect.settings import PREFECT_API_URL, temporary_settings

    url = f"http://127.0.0.1:{closed_port()}/api"
    monkeypatch.setenv("VIVEK_API_WAIT_S", "0.5")
    argv = ["eval", "--models", "mock:x", "--suite", "basic", "--task-limit", "1",
            "--out", str(tmp_path / "out"), "--no-progress"]  # fmt: skip
    with temporary_settings({PREFECT_API_URL: url}):
        assert main(argv) == 2
    err = capsys.readouterr().err
    [sentence] = [line for line in err.splitlines() if line.startswith("vivek:")]
    assert url in sentence and "unset PREFECT_API_URL" in sentence
    assert "Traceback" not in err and not list((tmp_path / "out").glob("*/results.parquet"))


def test_a_configured_api_that_is_starting_is_waited_for():
    port = closed_port()

    class Health(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200 if self.path == "/api/health" else 404)
            self.end_headers()

        def log_message(self, *args):
            return None

    servers = []

    def start_later():
        time.sleep(1.0)  # the server is "starting" for a second
        servers.append(ThreadingHTTPServer(("127.0.0.1", port), Health))
        servers[0].serve_forever()

    threading.Thread(target=start_later, daemon=True).start()
    try:
        wait_for_configured_api(f"http://127.0.0.1:{port}/api", wait_s=60)
    finally:
        while not servers:
            time.sleep(0.05)
        servers[0].shutdown()
        servers[0].server_close()
    with pytest.raises(UsageError, match=r"does not answer after 0\.2 s"):
        wait_for_configured_api(f"http://127.0.0.1:{port}/api", wait_s=0.2)
