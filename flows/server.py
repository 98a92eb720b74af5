"""A Prefect API server that a ``vivek`` command starts, owns, and never leaves behind.

When no ``PREFECT_API_URL`` is configured, Prefect would start its own temporary server
on first use; killed with SIGKILL, the CLI would orphan it (233 MB under init). Instead
the CLI starts the same server (Prefect's own app under uvicorn, in
:mod:`flows.server_main`) and points Prefect at it for the whole command.

For fast ad hoc runs, the first ``vivek eval`` (or ``vivek server start``) leaves one
server running in the background, with its UI (state in ``$PREFECT_HOME/vivek-server.json``);
later commands with the same ``PREFECT_HOME`` find and reuse it. It stops itself after
``VIVEK_SERVER_IDLE_MINUTES`` (default 30) without use; ``vivek server stop`` stops it at
once, ``vivek server stop --all`` stops every one this user's ``vivek`` started.
``VIVEK_SERVER=ephemeral`` gives each command a server of its own, a child that the
kernel stops when ``vivek`` dies (``prctl(PR_SET_PDEATHSIG)``).

A configured ``PREFECT_API_URL`` is waited for while it starts (up to ``VIVEK_API_WAIT_S``,
default 60 s), then named in one sentence if it still does not answer.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from flows.server_main import MODULE
from tasks.errors import UsageError

PR_SET_PDEATHSIG = 1
IDLE_MINUTES = 30.0  # default of VIVEK_SERVER_IDLE_MINUTES
API_WAIT_S = 60.0  # default of VIVEK_API_WAIT_S


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


def _env_float(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise UsageError(f"{name}={raw!r} is not a number.") from None
    if value < 0:
        raise UsageError(f"{name}={raw!r} must be 0 or more.")
    return value


def idle_seconds() -> float:
    """How long an unused shared server lives (``VIVEK_SERVER_IDLE_MINUTES``; 0: for ever)."""
    return _env_float("VIVEK_SERVER_IDLE_MINUTES", IDLE_MINUTES) * 60


@contextlib.contextmanager
def status_line(message: str) -> Iterator[None]:
    """A spinner with ``message`` on a terminal; elsewhere the message, once."""
    if sys.stderr.isatty():
        from rich.console import Console

        with Console(stderr=True).status(message, spinner="dots"):
            yield
    else:
        print(message, file=sys.stderr, flush=True)
        yield


@dataclass
class OwnedServer:
    process: subprocess.Popen
    port: int

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api"

    @classmethod
    def start(
        cls,
        timeout_s: float,
        *,
        detached: bool = False,
        idle_s: float = 0.0,
        state: Path | None = None,
    ) -> OwnedServer:
        """Start the server; ``detached`` (the shared one) outlives this process."""
        from prefect.settings import get_current_settings

        port = _free_port()
        api_url = f"http://127.0.0.1:{port}/api"
        # -P: the current folder must not shadow Prefect or Vivek.
        cmd = [sys.executable, "-P", "-m", MODULE, "--port", str(port), "--idle-s", str(idle_s)]
        if state is not None:
            cmd += ["--state", str(state)]
        env = {
            **os.environ,
            **get_current_settings().to_environment_variables(exclude_unset=True),
            # The UI asks /ui-settings where its API is: this server, not the default 4200.
            "PREFECT_UI_API_URL": api_url,
            "PREFECT_UI_URL": api_url.removesuffix("/api"),
            "PREFECT_SERVER_API_HOST": "127.0.0.1",
            "PREFECT_SERVER_API_PORT": str(port),
            "PREFECT_UI_ENABLED": "0",
            "PREFECT__SERVER_EPHEMERAL": "1",
            "PREFECT__SERVER_FINAL": "1",
        }
        env.pop("PREFECT_API_URL", None)  # the server is not a client of another server
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
            if _answers(server.api_url):
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


def _answers(api_url: str, timeout_s: float = 2.0, *, any_status: bool = False) -> bool:
    """Does ``api_url/health`` answer (200; or anything, for a server that may want a key)?"""
    try:
        status = httpx.get(f"{api_url}/health", timeout=timeout_s).status_code
    except httpx.HTTPError:
        return False
    return any_status or status == 200


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
            drained = EventsWorker.drain_all()
            if inspect.isawaitable(drained):
                await drained

    with contextlib.suppress(Exception):
        run_coro_as_sync(drain())


def _state_file() -> Path:
    from prefect.settings import PREFECT_HOME

    return Path(PREFECT_HOME.value()) / "vivek-server.json"


def shared_server_url() -> str | None:
    """The API URL of the shared server of this ``PREFECT_HOME``, if it answers."""
    try:
        state = json.loads(_state_file().read_text())
        url = f"http://127.0.0.1:{int(state['port'])}/api"
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return url if _answers(url) else None


def start_shared(timeout_s: float) -> str:
    """``vivek server start``: a server for later runs (same PREFECT_HOME) to reuse."""
    url = shared_server_url()
    if url:
        return url
    state = _state_file()
    state.parent.mkdir(parents=True, exist_ok=True)
    idle_s = idle_seconds()
    with status_line("Starting a Prefect server for vivek runs (once; later runs reuse it)"):
        server = OwnedServer.start(timeout_s, detached=True, idle_s=idle_s, state=state)
    state.write_text(json.dumps({"pid": server.process.pid, "port": server.port}))
    return server.api_url


def stop_shared() -> bool:
    """``vivek server stop``: stop the shared server; False when none was running."""
    path = _state_file()
    try:
        pid = int(json.loads(path.read_text())["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return False
    path.unlink(missing_ok=True)
    if pid not in {p.pid for p in vivek_servers()}:
        return False  # gone already, or the pid now belongs to another process
    os.kill(pid, signal.SIGTERM)
    return True


def vivek_servers() -> list:
    """Every server process this user's ``vivek`` started (any ``PREFECT_HOME``)."""
    import psutil

    found = []
    for proc in psutil.process_iter(["uids", "cmdline"]):
        with contextlib.suppress(psutil.Error, TypeError):
            cmdline = proc.info["cmdline"] or []
            if proc.info["uids"].real == os.getuid() and MODULE in cmdline[:4]:
                found.append(proc)
    return found


def stop_all(servers: list | None = None, grace_s: float = 10.0) -> int:
    """``vivek server stop --all``: SIGTERM each server (default: :func:`vivek_servers`),
    SIGKILL what is left after ``grace_s``; returns how many there were."""
    import psutil

    servers = vivek_servers() if servers is None else servers
    for proc in servers:
        with contextlib.suppress(psutil.Error):
            proc.terminate()
    _, alive = psutil.wait_procs(servers, timeout=grace_s)
    for proc in alive:
        with contextlib.suppress(psutil.Error):
            proc.kill()
    return len(servers)


def wait_for_configured_api(url: str, wait_s: float | None = None) -> None:
    """A configured API that is starting is waited for; one that never answers is a
    UsageError naming it, raised before any model is called."""
    wait_s = _env_float("VIVEK_API_WAIT_S", API_WAIT_S) if wait_s is None else wait_s
    if _answers(url, any_status=True):  # Prefect Cloud answers 401 without a key: it is up
        return
    deadline = time.monotonic() + wait_s
    with status_line(f"Waiting up to {wait_s:g} s for the Prefect API at {url} to answer"):
        while time.monotonic() < deadline:
            time.sleep(0.5)
            if _answers(url, any_status=True):
                return
    raise UsageError(
        f"The Prefect API at {url} (PREFECT_API_URL) does not answer after {wait_s:g} s: "
        "start that server, or unset PREFECT_API_URL to let vivek start its own."
    )


@contextlib.contextmanager
def _pointed_at(url: str, on_exit: Callable[[], None] | None = None) -> Iterator[None]:
    """Prefect (and child processes) talk to ``url`` for the block."""
    from prefect.context import refresh_global_settings_context

    os.environ["PREFECT_API_URL"] = url
    os.environ["VIVEK_OWN_SERVER"] = "1"  # no shared limits on it (tasks.providers)
    refresh_global_settings_context()
    try:
        yield
    finally:
        _drain_prefect_workers()
        if on_exit is not None:
            on_exit()
        os.environ.pop("PREFECT_API_URL", None)
        os.environ.pop("VIVEK_OWN_SERVER", None)
        refresh_global_settings_context()


@contextlib.contextmanager
def prefect_api() -> Iterator[OwnedServer | None]:
    """The configured Prefect API; else a shared server (``vivek server start``); else one
    this process starts and owns for the block."""
    from prefect.settings import (
        PREFECT_API_URL,
        PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS,
    )

    configured = PREFECT_API_URL.value()
    if configured:
        wait_for_configured_api(configured)
        yield None
        return
    timeout_s = PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS.value()
    shared = shared_server_url()
    if not shared and os.environ.get("VIVEK_SERVER", "shared") == "shared":
        # Ad hoc runs share one background server: the first run starts it, later runs
        # find it (no 13-17 s start each).
        shared = start_shared(timeout_s)
        idle = idle_seconds() / 60
        stops = f"stops after {idle:g} min unused, " if idle else ""
        print(
            f"Prefect server for vivek runs: {shared.removesuffix('/api')} "
            f"(kept for the next run; {stops}`vivek server stop` ends it)",
            file=sys.stderr,
        )
    if shared:
        with _pointed_at(shared):
            yield None
        return
    with status_line("Starting a Prefect server for this run"):
        server = OwnedServer.start(timeout_s)
    with _pointed_at(server.api_url, on_exit=server.stop):  # also for child processes (Dask)
        yield server


NOT_RUNNING = 3  # `vivek server status` when no server runs, as `systemctl status` says


def server_command(action: str, *, every: bool = False) -> int:
    """``vivek server start|stop|status`` (``stop --all`` with ``every``); the exit code."""
    if every and action != "stop":
        raise UsageError("--all goes with `vivek server stop` only.")
    if action == "start":
        from prefect.settings import PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS

        url = start_shared(PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS.value())
        idle = idle_seconds() / 60
        stops = f"it stops after {idle:g} min unused; " if idle else ""
        print(
            f"Prefect server for vivek runs: UI {url.removesuffix('/api')}, API {url} "
            f"({stops}`vivek server stop` ends it)"
        )
    elif action == "stop" and every:
        count = stop_all()
        print(f"stopped {count} vivek server(s)" if count else "no vivek server was running")
    elif action == "stop":
        print("stopped" if stop_shared() else "no vivek server was running")
    else:
        running = shared_server_url()
        if not running:
            print("not running")
            return NOT_RUNNING
        print(f"running: UI {running.removesuffix('/api')}, API {running}")
    return 0
