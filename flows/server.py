"""A Prefect API server that a ``vivek`` command starts, owns, and never leaves behind.

When no ``PREFECT_API_URL`` is configured, Prefect would start its own temporary server
on first use; killed with SIGKILL, the CLI would orphan it (233 MB under init). Instead
the CLI starts the same server (Prefect's own app, run by uvicorn exactly as Prefect's
temporary server runs it) as a child that the kernel signals when its parent dies
(``prctl(PR_SET_PDEATHSIG)``), and points Prefect at it for the whole command.

For fast ad hoc runs, the first ``vivek eval`` (or ``vivek server start``) leaves one
server running in the background (state in ``$PREFECT_HOME/vivek-server.json``); later
commands with the same ``PREFECT_HOME`` find and reuse it, and ``vivek server stop`` stops
it. ``VIVEK_SERVER=ephemeral`` gives each command a server of its own that dies with it.
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

PR_SET_PDEATHSIG = 1


def _die_with_parent(parent: int) -> None:
    """In the child, before exec: ask for SIGTERM when the parent dies (Linux only)."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class OwnedServer:
    process: subprocess.Popen
    port: int

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api"

    @classmethod
    def start(cls, timeout_s: float, *, detached: bool = False) -> OwnedServer:
        """Start the server; ``detached`` (``vivek server start``) outlives this process."""
        from prefect.settings import get_current_settings

        spec = importlib.util.find_spec("prefect")
        assert spec is not None and spec.origin is not None
        port = _free_port()
        cmd = [
            sys.executable, "-m", "uvicorn",
            "--app-dir", str(Path(spec.origin).parent.parent),
            "--factory", "prefect.server.api.server:create_app",
            "--host", "127.0.0.1", "--port", str(port),
            "--log-level", "error", "--lifespan", "on",
        ]  # fmt: skip
        env = {
            **os.environ,
            **get_current_settings().to_environment_variables(exclude_unset=True),
            "PREFECT_UI_ENABLED": "0",
            "PREFECT__SERVER_EPHEMERAL": "1",
            "PREFECT__SERVER_FINAL": "1",
        }
        if detached:
            # The shared server is a real one: users open its UI, and its automations
            # (Vivek's regression alerts) need every service, which ephemeral mode skips.
            env["PREFECT_UI_ENABLED"] = "1"
            env.pop("PREFECT__SERVER_EPHEMERAL")
        parent = os.getpid()
        # Its own process group: a Ctrl-C at the terminal reaches the CLI, which stops the
        # run and then the server, instead of killing the server under the run's last calls.
        quiet = subprocess.DEVNULL if detached else None
        process = subprocess.Popen(
            cmd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=quiet,
            stderr=quiet,
            start_new_session=detached,
            process_group=None if detached else 0,
            preexec_fn=None if detached else (lambda: _die_with_parent(parent)),
        )
        server = cls(process, port)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"the Prefect server exited with code {process.returncode}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{server.api_url}/health", timeout=2).status_code == 200:
                    return server
            time.sleep(0.1)
        server.stop()
        raise RuntimeError(f"the Prefect server did not answer within {timeout_s:g} s")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _drain_prefect_workers() -> None:
    """Send buffered logs and events before the server goes away."""
    import inspect

    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker
    from prefect.utilities.asyncutils import run_coro_as_sync

    async def drain() -> None:
        with contextlib.suppress(Exception):
            result = APILogWorker.instance().drain()
            if inspect.isawaitable(result):
                await result
        with contextlib.suppress(Exception):
            result = EventsWorker.drain_all()
            if inspect.isawaitable(result):
                await result

    with contextlib.suppress(Exception):
        run_coro_as_sync(drain())


def _state_file() -> Path:
    from prefect.settings import PREFECT_HOME

    return Path(PREFECT_HOME.value()) / "vivek-server.json"


def shared_server_url() -> str | None:
    """The API URL of a server started by ``vivek server start``, if it answers."""
    try:
        state = json.loads(_state_file().read_text())
        url = f"http://127.0.0.1:{int(state['port'])}/api"
        if httpx.get(f"{url}/health", timeout=2).status_code == 200:
            return url
    except (OSError, ValueError, KeyError, TypeError, httpx.HTTPError):
        pass
    return None


def start_shared(timeout_s: float) -> str:
    """``vivek server start``: a server for later runs (same PREFECT_HOME) to reuse."""
    url = shared_server_url()
    if url:
        return url
    server = OwnedServer.start(timeout_s, detached=True)
    _state_file().write_text(json.dumps({"pid": server.process.pid, "port": server.port}))
    return server.api_url


def stop_shared() -> bool:
    """``vivek server stop``: stop the shared server; False when none was running."""
    path = _state_file()
    try:
        pid = int(json.loads(path.read_text())["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return False
    path.unlink(missing_ok=True)
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return False
    return True


@contextlib.contextmanager
def prefect_api() -> Iterator[OwnedServer | None]:
    """The configured Prefect API; else a shared server (``vivek server start``); else one
    this process starts and owns for the block."""
    from prefect.context import refresh_global_settings_context
    from prefect.settings import (
        PREFECT_API_URL,
        PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS,
    )

    if PREFECT_API_URL.value():
        yield None
        return
    shared = shared_server_url()
    if not shared and os.environ.get("VIVEK_SERVER", "shared") == "shared":
        # Ad hoc runs share one background server: the first run starts it, later runs
        # find it (no 13-17 s start each); `vivek server stop` ends it.
        shared = start_shared(PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS.value())
        print(
            f"Prefect server for vivek runs: {shared.removesuffix('/api')} "
            "(kept for the next run; `vivek server stop` ends it)",
            file=sys.stderr,
        )
    if shared:
        os.environ["PREFECT_API_URL"] = shared
        os.environ["VIVEK_OWN_SERVER"] = "1"  # no shared limits on it (tasks.providers)
        refresh_global_settings_context()
        try:
            yield None
        finally:
            _drain_prefect_workers()
            os.environ.pop("PREFECT_API_URL", None)
            os.environ.pop("VIVEK_OWN_SERVER", None)
            refresh_global_settings_context()
        return
    server = OwnedServer.start(PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS.value())
    os.environ["PREFECT_API_URL"] = server.api_url  # also for child processes (Dask)
    os.environ["VIVEK_OWN_SERVER"] = "1"
    refresh_global_settings_context()
    try:
        yield server
    finally:
        _drain_prefect_workers()
        server.stop()
        os.environ.pop("PREFECT_API_URL", None)
        os.environ.pop("VIVEK_OWN_SERVER", None)
        refresh_global_settings_context()
