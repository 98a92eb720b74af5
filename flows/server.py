"""A local Prefect server that ad hoc runs share, so a run does not pay a server start.

Without ``PREFECT_API_URL``, every Prefect run starts a temporary server (13-17 s here) and
throws it away. ``vivek eval`` instead finds the server an earlier run left in the
background (``PREFECT_HOME/vivek-server.json``), or starts one that later runs find again;
``vivek server stop`` ends it. The server listens on 127.0.0.1 only, in its own session,
so neither Ctrl-C nor the end of the run kills it, and no run leaves an orphan behind: the
one server is recorded and stoppable. ``VIVEK_SERVER=ephemeral`` keeps Prefect's own
temporary server instead.

Nothing here imports Prefect: the API URL must be in the environment before Prefect
reads its settings.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path

from tasks.errors import UsageError

START_TIMEOUT_S = 180.0
PREFERRED_PORT = 4200


@dataclass(frozen=True)
class ServerState:
    """The background server a run left: enough to find it again, or to stop it."""

    pid: int
    port: int

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api"

    @property
    def ui_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def prefect_home() -> Path:
    return Path(os.environ.get("PREFECT_HOME") or Path.home() / ".prefect").expanduser()


def state_path() -> Path:
    return prefect_home() / "vivek-server.json"


def read_state() -> ServerState | None:
    try:
        data = json.loads(state_path().read_text(encoding="utf-8"))
        return ServerState(pid=int(data["pid"]), port=int(data["port"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def healthy(state: ServerState, timeout_s: float = 2.0) -> bool:
    """The server answers ``/api/health`` (and so is not some other program on the port)."""
    try:
        with urllib.request.urlopen(f"{state.api_url}/health", timeout=timeout_s) as resp:
            return resp.status == 200 and resp.read().strip() == b"true"
    except (OSError, ValueError):
        return False


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _port() -> int:
    """4200 (Prefect's usual port) when free, else any free loopback port."""
    for port in (PREFERRED_PORT, 0):
        with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return sock.getsockname()[1]
    raise UsageError("No free port on 127.0.0.1 for a local Prefect server.")


@contextlib.contextmanager
def _locked():
    """One run at a time decides whether to start the server (no two servers)."""
    home = prefect_home()
    home.mkdir(parents=True, exist_ok=True)
    with open(home / "vivek-server.lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _start(timeout_s: float) -> ServerState:
    port = _port()
    log = prefect_home() / "vivek-server.log"
    env = dict(os.environ, PREFECT_SERVER_ANALYTICS_ENABLED="false")
    env.pop("PREFECT_API_URL", None)
    cmd = [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1",
           "--port", str(port)]  # fmt: skip
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, env=env,
            start_new_session=True,  # outlives this run by design; `vivek server stop` ends it
        )  # fmt: skip
    state = ServerState(pid=proc.pid, port=port)
    deadline = time.monotonic() + timeout_s
    while not healthy(state):
        if proc.poll() is not None or time.monotonic() > deadline:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            raise UsageError(f"The local Prefect server did not start; see {log}.")
        time.sleep(0.2)
    state_path().write_text(json.dumps(asdict(state)), encoding="utf-8")
    return state


def ensure_server(timeout_s: float = START_TIMEOUT_S) -> ServerState | None:
    """Point this process at the shared local server, starting it if needed.

    Returns None (and changes nothing) when ``PREFECT_API_URL`` is set already or
    ``VIVEK_SERVER=ephemeral``.
    """
    if os.environ.get("PREFECT_API_URL") or os.environ.get("VIVEK_SERVER") == "ephemeral":
        return None
    with _locked():
        state = read_state()
        if state is None or not healthy(state):
            if state is not None and _alive(state.pid):
                stop_server()  # alive but not answering: replace it
            state = _start(timeout_s)
    os.environ["PREFECT_API_URL"] = state.api_url
    return state


def stop_server() -> bool:
    """Stop the recorded server (its whole process group); True when one was running."""
    state = read_state()
    with contextlib.suppress(OSError):
        state_path().unlink()
    if state is None or not _alive(state.pid):
        return False
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(state.pid, signal.SIGTERM)
    deadline = time.monotonic() + 10.0
    while _alive(state.pid) and time.monotonic() < deadline:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(state.pid, os.WNOHANG)
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(state.pid, signal.SIGKILL)
    return True


def main(argv: list[str]) -> int:
    """``vivek server start|stop|status``."""
    action = argv[0] if argv else "status"
    if action not in ("start", "stop", "status") or len(argv) > 1:
        raise UsageError("Usage: vivek server start|stop|status.")
    if action == "stop":
        print("stopped the local Prefect server" if stop_server() else "no local server running")
        return 0
    state = read_state()
    if action == "start":
        os.environ.pop("PREFECT_API_URL", None)
        state = ensure_server()
    if state is not None and healthy(state):
        print(f"local Prefect server: {state.ui_url} (pid {state.pid})")
    else:
        print("no local server running")
    return 0
