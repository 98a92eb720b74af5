"""Real processes for the operations tests: a Prefect server, a worker, ``vivek`` runs.

Every process starts in its own session (process group) with output in a log file,
so a test can kill the process and all its children at once, and print the log's
tail when something fails. Everything listens on 127.0.0.1 only.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent  # the venv's bin: prefect, vivek
SECRET_SUFFIXES = ("_API_KEY", "_TOKEN")


def free_port() -> int:
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def clean_env(prefect_home: Path, **extra: str) -> dict[str, str]:
    """This process's environment without Prefect settings or secrets, plus ``extra``."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("PREFECT_")
        and not k.endswith(SECRET_SUFFIXES)
        and k != "OPENAI_BASE_URL"
    }
    env.update(
        PREFECT_HOME=str(prefect_home),
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS="300",  # patient on a loaded 2-core box
        PREFECT_LOGGING_LEVEL="WARNING",
    )
    env.update(extra)
    return env


def tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return f"({path} is missing)"
    return f"--- last {lines} lines of {path.name} ---\n" + "\n".join(text.splitlines()[-lines:])


class Proc:
    """A background process in its own process group, logging to ``log``."""

    def __init__(self, cmd: list[str], log: Path, env: dict[str, str], cwd: Path = ROOT) -> None:
        self.cmd, self.log = cmd, log
        with log.open("ab") as fh:
            self.popen = subprocess.Popen(
                cmd,
                cwd=cwd,
                env=env,
                stdout=fh,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def wait(self, timeout: float) -> int:
        """Exit code; on timeout the whole group is killed and RuntimeError raised."""
        try:
            return self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill_group()
            raise RuntimeError(f"{self.cmd[:3]} ran past {timeout} s\n{tail(self.log)}") from None

    def kill_group(self, sig: int = signal.SIGKILL) -> None:
        """Signal every process of the group, even after its leader died."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.popen.pid, sig)
        if sig == signal.SIGKILL:
            self.popen.wait()

    def stop(self, grace_s: float = 10.0) -> None:
        """SIGTERM the group, then SIGKILL whatever is left after ``grace_s``."""
        if self.alive():
            self.kill_group(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.popen.wait(timeout=grace_s)
        self.kill_group(signal.SIGKILL)


def wait_until(predicate, *, timeout_s: float, what: str, procs: tuple[Proc, ...] = ()) -> None:
    """Poll ``predicate`` every 0.1 s; fail with the logs if a process dies or time runs out."""
    deadline = time.monotonic() + timeout_s
    while not predicate():
        for proc in procs:
            if not proc.alive():
                raise RuntimeError(
                    f"{proc.cmd[:3]} exited while waiting for {what}\n{tail(proc.log)}"
                )
        if time.monotonic() > deadline:
            logs = "\n".join(tail(p.log) for p in procs)
            raise RuntimeError(f"gave up waiting {timeout_s} s for {what}\n{logs}")
        time.sleep(0.1)


def healthy(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2.0).status_code == 200
    except httpx.HTTPError:
        return False


def prefect_cli(args: list[str], env: dict[str, str], log: Path, timeout_s: float = 120.0) -> None:
    """Run ``prefect ARGS`` to completion; raise with its output if it fails."""
    proc = Proc([str(BIN / "prefect"), *args], log, env)
    code = proc.wait(timeout_s)
    if code != 0:
        raise RuntimeError(f"prefect {' '.join(args)} exited {code}\n{tail(log)}")


class PrefectStack:
    """A real Prefect server (own home and SQLite file) and, on demand, a process worker."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.port = free_port()
        self.api_url = f"http://127.0.0.1:{self.port}/api"
        self.procs: list[Proc] = []
        db = base / "prefect.db"
        self.server_env = clean_env(
            base / "server-home",
            PREFECT_API_DATABASE_CONNECTION_URL=f"sqlite+aiosqlite:///{db}",
            PREFECT_UI_ENABLED="false",
            PREFECT_LOGGING_LEVEL="INFO",
            # Nothing runs on a schedule here: the nightly cron must never fire mid-test.
            PREFECT_SERVER_SERVICES_SCHEDULER_ENABLED="false",
        )
        self.client_env = clean_env(
            base / "client-home",
            PREFECT_API_URL=self.api_url,
            VIVEK_PROJECT_DIR=str(ROOT),
            PREFECT_LOGGING_LEVEL="INFO",
            PREFECT_WORKER_QUERY_SECONDS="1",
            PREFECT_WORKER_PREFETCH_SECONDS="1",
        )

    @property
    def logs(self) -> str:
        return "\n".join(tail(p.log) for p in self.procs)

    def start_server(self, timeout_s: float = 300.0) -> None:
        cmd = [
            str(BIN / "prefect"),
            "server",
            "start",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
        ]
        server = Proc(cmd, self.base / "server.log", self.server_env)
        self.procs.append(server)
        wait_until(
            lambda: healthy(f"{self.api_url}/health"),
            timeout_s=timeout_s,
            what="the Prefect server's /api/health",
            procs=(server,),
        )

    def cli(self, *args: str) -> None:
        prefect_cli(list(args), self.client_env, self.base / "cli.log")

    def start_worker(self, pool: str) -> Proc:
        cmd = [str(BIN / "prefect"), "worker", "start", "--pool", pool, "--type", "process"]
        worker = Proc(cmd, self.base / "worker.log", self.client_env)
        self.procs.append(worker)
        return worker

    def stop_worker(self, worker: Proc) -> None:
        worker.stop(grace_s=5.0)
        self.procs.remove(worker)

    def stop(self) -> None:
        """Workers first (they talk to the server while shutting down), then the server."""
        for proc in reversed(self.procs):
            proc.stop(grace_s=5.0)
