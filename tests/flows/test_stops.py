"""Stopping ``vivek eval``: SIGKILL leaves no Prefect server behind; SIGTERM and Ctrl-C end
with one line, exit 143 / 130, and the finished cells in the cache."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from _deploy_support import BIN, Proc, clean_env, wait_until
from _fake_openai import FakeOpenAI
from _replies import basic_tasks, reply

from flows.server_main import MODULE

pytestmark = pytest.mark.slow

TASKS = basic_tasks(4)
HOLD = 2  # cells answered before every further request is held
BY_PROMPT = {t.prompt: t for t in TASKS}
RUN_TIMEOUT_S = 300


def answer(prompt: str) -> str:
    task = next(t for p, t in BY_PROMPT.items() if p.strip() in prompt)
    return reply(task, "ref")


def children(pid: int) -> set[int]:
    kids: set[int] = set()
    for task in Path(f"/proc/{pid}/task").glob("*"):
        text = (task / "children").read_text() if (task / "children").exists() else ""
        kids |= {int(x) for x in text.split()}
    return kids


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def stored(out: Path) -> int:
    return len(list((out / ".cache" / "generations").glob("*/*.json")))


def eval_argv(out: Path, server: FakeOpenAI, *extra: str) -> list[str]:
    return [str(BIN / "vivek"), "eval", "--models", "openai-compatible:fake",
            "--suite", "basic", "--task-limit", str(len(TASKS)), "--out", str(out),
            "--base-url", server.base_url, "--no-progress", *extra]  # fmt: skip


@contextlib.contextmanager
def held(
    tmp_path: Path, env: dict[str, str], *extra: str
) -> Iterator[tuple[Proc, Path, FakeOpenAI]]:
    """A ``vivek eval`` whose model answers HOLD cells, then holds every request."""
    with FakeOpenAI(answer, delay_s=0.05, hold_after=HOLD) as server:
        out = tmp_path / "out"
        proc = Proc(eval_argv(out, server, *extra), tmp_path / "vivek.log", env, cwd=tmp_path)
        try:
            wait_until(
                lambda: server.held >= 1 and stored(out) >= HOLD,
                timeout_s=RUN_TIMEOUT_S,
                what="the run to reach its held requests",
                procs=(proc,),
            )
            yield proc, out, server
        finally:
            proc.kill_group()


@pytest.fixture
def held_run(tmp_path):
    """A held run on a Prefect server of its own (it dies with the command)."""
    with held(tmp_path, clean_env(tmp_path / "prefect-home")) as (proc, out, _):
        yield proc, out


def test_sigkill_leaves_no_prefect_server(held_run):
    """Issue 13.8: the server the run started dies with it (parent-death signal)."""
    proc, _ = held_run
    servers = [pid for pid in children(proc.pid) if MODULE in _cmdline(pid)]
    assert len(servers) == 1, [_cmdline(p) for p in children(proc.pid)]
    os.kill(proc.pid, signal.SIGKILL)  # the CLI alone, as a crash or the OOM killer would
    proc.popen.wait()
    wait_until(lambda: not alive(servers[0]), timeout_s=60, what="the Prefect server to exit")


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


@pytest.mark.parametrize(
    ("sig", "code", "word"),
    [(signal.SIGTERM, 143, "terminated"), (signal.SIGINT, 130, "interrupted")],
)
def test_stop_is_one_line_and_keeps_the_cache(held_run, sig, code, word):
    """Issue 16.5: one line, exit 130/143, the finished generations stay cached."""
    proc, out = held_run
    servers = [pid for pid in children(proc.pid) if MODULE in _cmdline(pid)]
    os.kill(proc.pid, sig)
    assert proc.wait(120) == code
    text = proc.log.read_text(encoding="utf-8", errors="replace")
    assert "Traceback" not in text, text
    lines = [line for line in text.splitlines() if line.strip()]
    assert lines[-1].startswith(f"vivek: {word}") and sum("vivek:" in x for x in lines) == 1
    assert stored(out) >= HOLD
    assert servers and not any(alive(pid) for pid in servers)  # stopped with the run


def test_ctrl_c_marks_the_run_cancelled_and_the_rerun_resumes(tmp_path, prefect_stack):
    """Issue 16.5 on a server that outlives the command (the session's, configured with
    ``PREFECT_API_URL`` as a nightly is): the run reads Cancelled, not Crashed."""
    api = prefect_stack.api_url
    env = clean_env(tmp_path / "prefect-home", PREFECT_API_URL=api)
    config = tmp_path / "vivek.toml"
    config.write_text("shared_limits = false\n")  # slots of a stopped run would stay leased

    def flow_runs() -> dict[str, dict]:
        runs = httpx.post(f"{api}/flow_runs/filter", json={}, timeout=30).json()
        return {r["id"]: r for r in runs}

    before = flow_runs()
    with held(tmp_path, env, "--config", str(config)) as (proc, out, server):
        os.kill(proc.pid, signal.SIGINT)
        assert proc.wait(120) == 130
        [run] = [r for key, r in flow_runs().items() if key not in before]
        assert run["state_type"] == "CANCELLED", run["state"]
        assert "interrupted" in run["state"]["message"]

        done = stored(out)
        server.release()  # the model answers again
        server.reset_counts()
        rerun = subprocess.run(
            eval_argv(out, server, "--config", str(config)), env=env, cwd=tmp_path,
            capture_output=True, text=True, timeout=400,
        )  # fmt: skip
        assert rerun.returncode == 0, rerun.stderr[-2000:]
        assert server.total == len(TASKS) - done  # only what was not finished is asked
