"""A tiny loopback OpenAI-compatible server that counts requests and can hold them.

It answers ``POST /v1/chat/completions`` after ``delay_s`` with the canned reply
the test chose for the prompt. After ``hold_after`` answers it holds every further
request until :meth:`FakeOpenAI.release`, so a test can stop a client at an exact
point without racing it.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class FakeOpenAI:
    """``with FakeOpenAI(answer) as server:`` ... ``server.base_url`` is ``http://.../v1``."""

    def __init__(
        self,
        answer: Callable[[str], str],
        *,
        delay_s: float = 0.3,
        hold_after: int | None = None,
    ) -> None:
        self.answer = answer
        self.delay_s = delay_s
        self.hold_after = hold_after
        self.requests: Counter[tuple[str, Any]] = Counter()  # (prompt, seed) -> count
        self.answered = 0
        self.auth: set[str] = set()  # Authorization headers seen
        self.held = 0
        self._admitted = 0
        self._lock = threading.Lock()
        self._released = threading.Event()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}/v1"

    @property
    def total(self) -> int:
        with self._lock:
            return sum(self.requests.values())

    def release(self) -> None:
        """Let held requests (and all later ones) through."""
        self._released.set()

    def reset_counts(self) -> None:
        with self._lock:
            self.requests.clear()

    def __enter__(self) -> FakeOpenAI:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=10)

    def _complete(self, body: dict[str, Any], auth: str) -> dict[str, Any]:
        prompt = next(m["content"] for m in body["messages"] if m["role"] == "user")
        with self._lock:
            self.auth.add(auth)
            self.requests[(prompt, body.get("seed"))] += 1
            self._admitted += 1
            hold = self.hold_after is not None and self._admitted > self.hold_after
            self.held += hold
        if hold:
            self._released.wait(timeout=900)  # __exit__ always releases
        time.sleep(self.delay_s)
        text = self.answer(prompt)
        return {
            "id": "chatcmpl-fake",
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
            "usage": {
                "prompt_tokens": len(prompt.split()),
                "completion_tokens": len(text.split()),
                "total_tokens": len(prompt.split()) + len(text.split()),
            },
        }

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                if self.path.rstrip("/") != "/v1/chat/completions":
                    self.send_error(404)
                    return
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length))
                reply = server._complete(body, self.headers.get("Authorization", ""))
                data = json.dumps(reply).encode()
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    return  # the client was killed while we held its request
                with server._lock:
                    server.answered += 1

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler
