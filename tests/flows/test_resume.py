"""SIGKILL ``vivek eval`` mid-generation, rerun: no cell lost, none generated twice.

The model is ``openai-compatible`` against a loopback fake server that answers the
first half of the cells and then holds every request, so the kill lands at a known
point without racing the client. The runs use the session's Prefect server (a configured
``PREFECT_API_URL``, as a nightly does): what is tested is the cache, not the server.
"""

from __future__ import annotations

import signal
import time
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from _deploy_support import BIN, PrefectStack, Proc, clean_env, tail, wait_until
from _fake_openai import FakeOpenAI
from _replies import EXPECTED_STATUS, basic_tasks, reply

from tasks.config import load_config
from tasks.run.cache import generation_key
from tasks.run.generate import cache_identity, render_prompt

pytestmark = pytest.mark.slow

TASKS = basic_tasks(4)
KIND = {TASKS[0].id: "wrong", TASKS[1].id: "ref", TASKS[2].id: "prose", TASKS[3].id: "ref"}
SAMPLES = 2
CELLS = len(TASKS) * SAMPLES
HOLD = CELLS // 2  # cells answered before the kill
CONCURRENCY = 2
SEED = 7
MODEL = "openai-compatible:fake-coder"
TASK_OF_PROMPT = {render_prompt(t): t for t in TASKS}
RUN_TIMEOUT_S = 300


def answer(prompt: str) -> str:
    task = TASK_OF_PROMPT[prompt]
    return reply(task, KIND[task.id])


def cell_keys(base_url: str, config: Path) -> dict[str, tuple[str, int]]:
    """generation key -> (task id, sample), computed exactly as the run will."""
    from tasks.run.plan import prepare

    overrides = {
        "models": [MODEL],
        "suite": "basic",
        "samples": SAMPLES,
        "task_limit": len(TASKS),
        "seed": SEED,
        "base_url": base_url,
    }
    cfg = load_config(config, overrides)
    plan = prepare(cfg)
    (provider,) = plan.providers
    return {
        generation_key(cache_identity(provider), render_prompt(t), plan.options, s, t.id): (t.id, s)
        for t in plan.suite.tasks
        for s in range(SAMPLES)
    }


def stored_keys(out: Path) -> set[str]:
    return {p.stem for p in (out / ".cache" / "generations").glob("*/*.json")}


def results_of(out: Path, before: set[Path]) -> list[dict]:
    (new,) = set(out.glob("*/results.parquet")) - before
    return pq.read_table(new).to_pylist()


def kill_when_half_stored(proc: Proc, server: FakeOpenAI, out: Path) -> None:
    """SIGKILL ``vivek`` alone, as a crash would; then its group, in case it left a child."""
    try:
        wait_until(
            lambda: len(stored_keys(out)) >= HOLD and server.answered >= HOLD,
            timeout_s=RUN_TIMEOUT_S,
            what=f"{HOLD} stored generations",
            procs=(proc,),
        )
        proc.popen.send_signal(signal.SIGKILL)
        proc.popen.wait()
    finally:
        proc.kill_group()


@pytest.fixture
def server():
    with FakeOpenAI(answer, delay_s=0.3, hold_after=HOLD) as fake:
        yield fake


def test_sigkill_then_rerun_loses_nothing_and_repeats_nothing(
    server, tmp_path, prefect_stack: PrefectStack
):
    out = tmp_path / "out"
    config = tmp_path / "resume.toml"
    # Limits held in this process: a killed run's slots on the server would stay leased.
    config.write_text(
        f"shared_limits = false\n[providers.openai-compatible]\nmax_concurrency = {CONCURRENCY}\n"
    )
    flags = f"--models {MODEL} --suite basic --task-limit {len(TASKS)} --samples {SAMPLES}"
    argv = ["eval", *flags.split(), "--seed", str(SEED), "--out", str(out)]
    argv += ["--base-url", server.base_url, "--config", str(config), "--no-progress"]
    keys = cell_keys(server.base_url, config)
    assert len(keys) == CELLS
    env = clean_env(tmp_path / "prefect-home", PREFECT_API_URL=prefect_stack.api_url)
    assert not any(k.endswith("_API_KEY") for k in env)

    def vivek(log: str) -> Proc:
        return Proc([str(BIN / "vivek"), *argv], tmp_path / log, env, cwd=tmp_path)

    # Run 1: killed with SIGKILL once half the cells are stored and the rest are held.
    clock = time.monotonic()
    kill_when_half_stored(vivek("run1.log"), server, out)
    print(f"run 1 killed after {time.monotonic() - clock:.1f} s")
    stored = stored_keys(out)
    assert len(stored) == HOLD and stored <= set(keys)
    assert not list(out.glob("*/results.parquet"))  # nothing half-written
    before_kill = Counter(server.requests)
    in_flight = sum(before_kill.values()) - HOLD
    assert 0 <= in_flight <= CONCURRENCY
    server.release()
    server.reset_counts()

    # Run 2: completes, asks only for the cells that were not stored.
    clock = time.monotonic()
    second = vivek("run2.log")
    assert second.wait(RUN_TIMEOUT_S) == 0, tail(second.log)
    print(f"run 2 took {time.monotonic() - clock:.1f} s")
    rows = results_of(out, set())
    assert sorted((r["task_id"], r["sample"]) for r in rows) == sorted(keys.values())
    for r in rows:
        assert r["status"] == EXPECTED_STATUS[KIND[r["task_id"]]], r
        assert keys[r["generation_key"]] == (r["task_id"], r["sample"])
        assert r["cached"] == (r["generation_key"] in stored)
        assert r["attempts"] == (0 if r["cached"] else 1)
    stored_per_task = Counter(keys[k][0] for k in stored)
    assert {prompt for prompt, seed in server.requests} <= set(TASK_OF_PROMPT)
    for prompt, task in TASK_OF_PROMPT.items():
        assert server.requests[(prompt, SEED)] == SAMPLES - stored_per_task[task.id], task.id
    assert sum(server.requests.values()) == CELLS - HOLD
    assert server.auth == {"Bearer not-needed"}  # no key was needed, none was sent
    assert sum(before_kill.values()) + sum(server.requests.values()) == CELLS + in_flight
    server.reset_counts()

    # Run 3: everything is cached, the server hears nothing.
    done = set(out.glob("*/results.parquet"))
    clock = time.monotonic()
    third = vivek("run3.log")
    assert third.wait(RUN_TIMEOUT_S) == 0, tail(third.log)
    print(f"run 3 took {time.monotonic() - clock:.1f} s")
    assert server.total == 0
    again = results_of(out, done)
    assert all(r["cached"] and r["attempts"] == 0 for r in again)
    assert [(r["task_id"], r["sample"], r["status"]) for r in again] == [
        (r["task_id"], r["sample"], r["status"]) for r in rows
    ]
