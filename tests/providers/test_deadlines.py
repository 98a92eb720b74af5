"""Bounded provider work: an overall deadline per attempt and per cell, fast failure when
a provider cannot be reached. Real loopback sockets, no fakes of the HTTP stack."""

from __future__ import annotations

import contextlib
import socket
import threading
import time

import openai  # noqa: F401  (imported here, not inside the first timed attempt)
import pytest

from tasks.providers.base import ProviderConfig
from tasks.providers.limits import Limiter
from tasks.providers.registry import resolve
from tasks.providers.retry import RetryPolicy
from tasks.record.types import GenerationOptions, Task
from tasks.run.generate import generate_cells
from tests.providers.fakes import clean_env

TASKS = [Task(id=f"t{i}", prompt=f"Write f{i}.", tests="") for i in range(3)]


class Trickle:
    """Answers every request with headers, then one body byte every ``every_s`` seconds."""

    def __init__(self, every_s: float = 0.1) -> None:
        self.every_s = every_s
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.requests = 0
        self.completed = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}"

    def _serve(self) -> None:
        self.sock.settimeout(0.1)
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn: socket.socket) -> None:
        body = b'{"x": "' + b"a" * 10_000 + b'"}'
        with contextlib.suppress(OSError), conn:
            conn.recv(65536)
            self.requests += 1
            conn.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                b"Content-Length: %d\r\n\r\n" % len(body)
            )
            for byte in body:
                if self._stop.is_set():
                    return
                conn.sendall(bytes([byte]))
                time.sleep(self.every_s)
            self.completed += 1

    def __enter__(self) -> Trickle:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.sock.close()


@pytest.fixture(autouse=True)
def env(monkeypatch):
    clean_env(monkeypatch)


@pytest.mark.anyio
@pytest.mark.parametrize("kind", ["openai-compatible", "ollama"])
async def test_a_trickling_server_cannot_hold_a_cell(kind):
    """Issue 13.6: httpx's timeout is per read; a byte every 0.1 s never trips it."""
    with Trickle() as server:
        base = f"{server.url}/v1" if kind == "openai-compatible" else server.url
        provider = resolve(f"{kind}:m", ProviderConfig(base_url=base, timeout_s=0.4))
        policy = RetryPolicy(max_attempts=10, max_total_s=1.0, base_delay_s=0)
        (out,) = await generate_cells(provider, TASKS[:1], 1, GenerationOptions(), policy=policy)
        await provider.aclose()
    assert not out.ok and server.completed == 0
    # 0.4 s per attempt inside 1 s for the cell: about three attempts, never ten (on a
    # loaded machine the last may be cut short by max_total_s, or the first run long).
    assert "no complete reply within" in out.error
    assert 1 <= out.attempts <= 4 and 1 <= server.requests <= out.attempts


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.anyio
@pytest.mark.parametrize("kind", ["openai-compatible", "ollama"])
async def test_refused_first_connection_fails_the_providers_cells_fast(kind):
    """Issue 16.6: one refused call, not five per cell; the error names the URL."""
    port = closed_port()
    base = f"http://127.0.0.1:{port}" + ("/v1" if kind == "openai-compatible" else "")
    provider = resolve(f"{kind}:m", ProviderConfig(base_url=base, max_concurrency=1))
    policy = RetryPolicy(max_attempts=5, base_delay_s=0)
    out = await generate_cells(
        provider, TASKS, 1, GenerationOptions(), policy=policy, limiter=Limiter()
    )
    await provider.aclose()
    assert [o.attempts for o in out] == [1, 1, 1]
    assert all(f"127.0.0.1:{port}" in o.error and o.error_kind == "permanent" for o in out)
    assert "not retried" in out[-1].error


@pytest.mark.anyio
async def test_a_reset_connection_has_a_reason():
    """Issue 13.9: a connection reset by the server gives a non-empty reason."""
    sock = socket.create_server(("127.0.0.1", 0))

    def reset() -> None:
        conn, _ = sock.accept()
        conn.recv(65536)
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        conn.close()  # RST instead of FIN

    thread = threading.Thread(target=reset, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{sock.getsockname()[1]}/v1"
    provider = resolve("openai-compatible:m", ProviderConfig(base_url=base))
    (out,) = await generate_cells(
        provider, TASKS[:1], 1, GenerationOptions(), policy=RetryPolicy(max_attempts=1)
    )
    await provider.aclose()
    thread.join(timeout=5)
    sock.close()
    assert "connection failed: " in out.error and not out.error.endswith(": ")
    assert base in out.error
