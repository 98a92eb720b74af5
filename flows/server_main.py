"""The process of a Prefect server that ``vivek`` starts (``python -P -m flows.server_main``).

Prefect's own API app (and UI, when enabled) under uvicorn, as ``prefect server start``
runs it, plus one thing Prefect lacks: an idle stop. With ``--idle-s S`` the server ends
itself once S seconds pass with no request and no open connection (a browser on its UI,
a worker or a run's event stream all count as use), so a server started for a
temporary ``PREFECT_HOME`` is never left running for ever. When it shuts down it removes
its state file (``--state``) if that file still names it.

The module name is how ``vivek server stop --all`` recognises these processes.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

MODULE = "flows.server_main"


class IdleWatch:
    """ASGI middleware: when was the server last used, and is anyone connected now.

    ``on_shutdown`` runs when the app has shut down (uvicorn ends the process with the
    signal it caught, so code after ``uvicorn.run`` never runs).
    """

    def __init__(self, app: Any, on_shutdown: Callable[[], None] = lambda: None) -> None:
        self.app = app
        self.on_shutdown = on_shutdown
        self.last_use = time.monotonic()
        self.open = 0
        self.serving = False  # the clock starts once the app has started (minutes, loaded)

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":

            async def send_then_clean(message: dict) -> None:
                await send(message)
                kind = message.get("type", "")
                if kind == "lifespan.startup.complete":
                    self.serving, self.last_use = True, time.monotonic()
                elif kind.startswith("lifespan.shutdown."):
                    self.on_shutdown()

            await self.app(scope, receive, send_then_clean)
            return
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        self.open += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.open -= 1
            self.last_use = time.monotonic()

    def idle_for(self) -> float:
        if self.open or not self.serving:
            return 0.0
        return time.monotonic() - self.last_use


def stop_when_idle(watch: IdleWatch, idle_s: float, poll_s: float) -> None:
    """In a thread: SIGTERM this process (uvicorn's graceful stop) after ``idle_s`` idle."""
    while True:
        time.sleep(poll_s)
        if watch.idle_for() >= idle_s:
            os.kill(os.getpid(), signal.SIGTERM)
            return


def forget_state(state: Path | None) -> None:
    """Remove the state file if it still describes this process."""
    if state is None:
        return
    with contextlib.suppress(OSError, ValueError, TypeError, KeyError):
        if int(json.loads(state.read_text())["pid"]) == os.getpid():
            state.unlink()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog=f"python -m {MODULE}")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--idle-s", type=float, default=0.0, help="0: never stop when idle")
    parser.add_argument("--state", type=Path, default=None)
    args = parser.parse_args(argv)

    import uvicorn
    from prefect.server.api.server import create_app

    watch = IdleWatch(create_app(), on_shutdown=lambda: forget_state(args.state))
    if args.idle_s > 0:
        poll_s = min(5.0, max(0.2, args.idle_s / 10))
        threading.Thread(
            target=stop_when_idle, args=(watch, args.idle_s, poll_s), daemon=True
        ).start()
    uvicorn.run(watch, host="127.0.0.1", port=args.port, log_level="error", lifespan="on")


if __name__ == "__main__":
    main()
