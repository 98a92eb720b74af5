"""Checks scale out to a Dask cluster and give the same rows as the default runner."""

from __future__ import annotations

import asyncio

import pyarrow.parquet as pq
import pytest
from _replies import EXPECTED_STATUS, basic_tasks, write_replay

from tasks.config import RunConfig

pytestmark = [pytest.mark.usefixtures("prefect_harness"), pytest.mark.slow]

TASKS = basic_tasks(4)
T0, T1, T2, T3 = (t.id for t in TASKS)
# Two samples per task; T3 has one reply only, so its sample 1 is a generation error.
KINDS = {T0: ["ref", "wrong"], T1: ["ref", "ref"], T2: ["prose", "ref"], T3: ["ref"]}

# Columns that legitimately differ between two runs of the same inputs: identity and
# wall-clock of the run, and what the sandbox measured (CPU time, memory) - noise.
VOLATILE = {"run_id", "timestamp", "latency_s", "execution_time_ms", "peak_memory_mb"}


@pytest.fixture(scope="module")
def replay(tmp_path_factory):
    return write_replay(tmp_path_factory.mktemp("replay") / "ops_model.jsonl", TASKS, KINDS)


@pytest.fixture(scope="module")
def cluster():
    from distributed import LocalCluster

    with LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
    ) as c:
        yield c


@pytest.fixture
def dask_client(cluster):
    """A client whose workers start with no sandbox pool, so a test can see checks land."""
    from distributed import Client

    from tasks.run.sandboxes import close_sandboxes

    with Client(cluster.scheduler_address) as client:
        client.run(close_sandboxes)
        yield client


def worker_pools(client) -> dict[str, int]:
    """How many sandbox pools each Dask worker process holds (one per checked settings)."""

    def count() -> int:
        from tasks.run import sandboxes

        return len(sandboxes._SANDBOXES)

    return client.run(count)


def comparable(rows: list[dict]) -> list[dict]:
    return [{k: v for k, v in r.items() if k not in VOLATILE} for r in rows]


def differences(rows: list[dict], baseline: list[dict]) -> list[tuple]:
    """(row, column, value, baseline value) wherever the two runs disagree."""
    assert len(rows) == len(baseline)
    return [
        (i, k, a[k], b.get(k))
        for i, (a, b) in enumerate(zip(comparable(rows), comparable(baseline), strict=True))
        for k in a
        if a[k] != b.get(k)
    ]


def run_flow(flow, replay, out) -> dict:
    params = {"models": [f"replay:{replay}"], "suite": "basic", "task_limit": 4, "samples": 2}
    return asyncio.run(flow(run=RunConfig(out=str(out), **params)))


@pytest.fixture(scope="module")
def baseline(replay, tmp_path_factory):
    """Rows of the run with the flow's default (thread) task runner."""
    from flows.evaluate import evaluate

    paths = run_flow(evaluate, replay, tmp_path_factory.mktemp("thread") / "out")
    return pq.read_table(paths["results"]).to_pylist()


def test_baseline_statuses(baseline):
    by = {(r["task_id"], r["sample"]): r["status"] for r in baseline}
    assert len(baseline) == 8 and len(by) == 8
    for task_id, kinds in KINDS.items():
        for sample, kind in enumerate(kinds):
            assert by[(task_id, sample)] == EXPECTED_STATUS[kind], (task_id, sample)
    assert by[(T3, 1)] == "generation_error"
    assert not any(r["cached"] for r in baseline)


def test_dask_runner_gives_the_same_rows(replay, baseline, dask_client, cluster, tmp_path):
    from prefect_dask import DaskTaskRunner

    from flows.evaluate import evaluate

    flow = evaluate.with_options(task_runner=DaskTaskRunner(address=cluster.scheduler_address))
    paths = run_flow(flow, replay, tmp_path / "out")
    rows = pq.read_table(paths["results"]).to_pylist()
    seen = [(r["status"], r["first_status"], r["error"], r["execution_time_ms"]) for r in rows]
    assert differences(rows, baseline) == [], seen
    assert {r["run_id"] for r in rows} == {paths["run_id"]} != {baseline[0]["run_id"]}
    assert sum(worker_pools(dask_client).values()) >= 1  # the checks ran on the cluster


def test_cli_dask_address(replay, baseline, dask_client, cluster, tmp_path, capsys):
    from flows.cli import main

    out = tmp_path / "out"
    argv = [
        "eval",
        "--models",
        f"replay:{replay}",
        "--suite",
        "basic",
        "--task-limit",
        "4",
        "--samples",
        "2",
        "--out",
        str(out),
        "--no-progress",
        "--task-runner",
        "dask",
        "--dask-address",
        cluster.scheduler_address,
    ]
    assert main(argv) == 0
    (results,) = out.glob("*/results.parquet")
    assert str(results) in capsys.readouterr().out
    rows = pq.read_table(results).to_pylist()
    assert differences(rows, baseline) == []
    assert sum(worker_pools(dask_client).values()) >= 1
