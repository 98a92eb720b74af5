"""A loopback OpenAI-compatible server that answers every chat call after a fixed delay.

It runs in its own process (uvicorn + Starlette) so its event loop never competes
with the client's for the GIL, and counts the calls it serves (``GET /count``).
For a HumanEval prompt it replies with that task's canonical solution, so the
checks downstream have real work to do.

    with serve(delay_s=0.2) as server:
        ... server.base_url ..., server.calls()
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx

START_TIMEOUT_S = 30.0


def make_app(delay_s: float):
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from bench.common import fenced, humaneval_tasks

    answers = [(t.prompt, fenced(t.reference or "")) for t in humaneval_tasks()]
    state = {"calls": 0}

    async def chat(request: Request) -> JSONResponse:
        body = await request.json()
        state["calls"] += 1
        await asyncio.sleep(delay_s)
        prompt = body["messages"][-1]["content"]
        text = next(
            (a for p, a in answers if p in prompt), fenced("def solution():\n    return 0\n")
        )
        return JSONResponse(
            {
                "id": f"chatcmpl-{state['calls']}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": body.get("model", "fake"),
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": text},
                        "finish_reason": "stop",
                    }
                ],
                "usage": {"prompt_tokens": 10, "completion_tokens": 20, "total_tokens": 30},
            }
        )

    async def count(_request: Request) -> JSONResponse:
        return JSONResponse({**state, "cpu_s": time.process_time()})

    return Starlette(
        routes=[Route("/v1/chat/completions", chat, methods=["POST"]), Route("/count", count)]
    )


@dataclass(frozen=True)
class Server:
    base_url: str
    root: str

    def calls(self) -> int:
        return int(self.stats()["calls"])

    def stats(self) -> dict:
        """Calls served so far and the server process's CPU seconds."""
        return httpx.get(f"{self.root}/count", timeout=10).json()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def serve(delay_s: float = 0.2) -> Iterator[Server]:
    """Start the server in a child process; stop exactly that process on exit."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.fake_server", "--port", str(port), "--delay", str(delay_s)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True,
    )  # fmt: skip
    root = f"http://127.0.0.1:{port}"
    server = Server(base_url=f"{root}/v1", root=root)
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            try:
                server.calls()
                break
            except httpx.HTTPError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    err = proc.stderr.read().decode(errors="replace")[-500:] if proc.stderr else ""
                    raise RuntimeError(f"fake server did not start: {err}") from None
                time.sleep(0.1)
        yield server
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        if proc.stderr:
            proc.stderr.close()


def main(argv: list[str] | None = None) -> None:  # pragma: no cover - runs as a child
    import uvicorn

    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--delay", type=float, default=0.2)
    args = p.parse_args(argv)
    uvicorn.run(
        make_app(args.delay), host="127.0.0.1", port=args.port, log_level="warning", backlog=1024
    )


if __name__ == "__main__":  # pragma: no cover
    main()
