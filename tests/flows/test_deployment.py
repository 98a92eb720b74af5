"""``prefect deploy --all`` on a real server, then a process worker runs ``adhoc``.

The server, the worker and the flow run are separate processes on 127.0.0.1, as
in production; the flow run reads ``prefect.yaml``'s pull step to find the checkout.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Iterator

import pyarrow.parquet as pq
import pytest
from _deploy_support import ROOT, PrefectStack, wait_until
from _replies import EXPECTED_STATUS, basic_tasks, write_replay

pytestmark = [pytest.mark.deployment, pytest.mark.slow]

POOL = "vivek-process"
TASKS = basic_tasks(3)
KINDS = {TASKS[0].id: ["wrong"], TASKS[1].id: ["ref"], TASKS[2].id: ["prose"]}
RUN_TIMEOUT_S = 300


@pytest.fixture(scope="module")
def stack(prefect_stack: PrefectStack) -> Iterator[PrefectStack]:
    """The session's server: work pool created, every deployment of prefect.yaml applied,
    a worker polling (stopped after this module)."""
    prefect_stack.cli("work-pool", "create", POOL, "--type", "process")
    worker = prefect_stack.start_worker(POOL)  # it starts up while the deployments are applied
    try:
        prefect_stack.cli("--no-prompt", "deploy", "--all")
        yield prefect_stack
    except BaseException:
        print(prefect_stack.logs)
        raise
    finally:
        prefect_stack.stop_worker(worker)


def api(stack: PrefectStack, fn):
    """Run ``await fn(client)`` against the stack's server."""
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings

    async def main():
        with temporary_settings({PREFECT_API_URL: stack.api_url}):
            async with get_client() as client:
                return await fn(client)

    return asyncio.run(main())


def run_adhoc(stack: PrefectStack, parameters: dict) -> tuple:
    """Trigger ``vivek-evaluate/adhoc`` and wait for a final state: (flow run, its logs)."""
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId

    async def trigger(client):
        deployment = await client.read_deployment_by_name("vivek-evaluate/adhoc")
        return await client.create_flow_run_from_deployment(deployment.id, parameters=parameters)

    flow_run = api(stack, trigger)
    final = {}

    def finished() -> bool:
        final["run"] = api(stack, lambda c: c.read_flow_run(flow_run.id))
        return final["run"].state is not None and final["run"].state.is_final()

    wait_until(
        finished, timeout_s=RUN_TIMEOUT_S, what="the adhoc flow run", procs=tuple(stack.procs)
    )
    logs = api(
        stack, lambda c: c.read_logs(LogFilter(flow_run_id=LogFilterFlowRunId(any_=[flow_run.id])))
    )
    return final["run"], "\n".join(f"{log.level} {log.message}" for log in logs)


def artifacts_of(stack: PrefectStack, flow_run_id) -> dict:
    """Latest artifact per key on the flow run itself (not on a subflow or a task run)."""
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    async def read(client):
        found = await client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id]))
        )
        return {a.key: a for a in sorted(found, key=lambda a: a.created) if a.key}

    return api(stack, read)


def test_adhoc_run_completes_with_results_and_artifacts(stack, tmp_path):
    replay = write_replay(tmp_path / "ops_model.jsonl", TASKS, KINDS)
    out = tmp_path / "out"
    params = {
        "run": {
            "models": [f"replay:{replay}"],
            "suite": "basic",
            "task_limit": len(TASKS),
            "samples": 1,
            "out": str(out),
        }
    }
    started = time.monotonic()
    flow_run, logs = run_adhoc(stack, params)
    print(f"adhoc flow run took {time.monotonic() - started:.1f} s")
    assert flow_run.state.is_completed(), f"{flow_run.state!r}\n{logs}\n{stack.logs}"
    assert flow_run.parameters["config"] == "data/config/nightly.toml"  # the deployment default

    (results,) = out.glob("*/results.parquet")
    rows = pq.read_table(results).to_pylist()
    assert {r["task_id"]: r["status"] for r in rows} == {
        t.id: EXPECTED_STATUS[KINDS[t.id][0]] for t in TASKS
    }

    arts = artifacts_of(stack, flow_run.id)
    assert arts["vivek-leaderboard"].type == "table"
    assert "replay:ops_model" in str(arts["vivek-leaderboard"].data)
    assert (
        arts["vivek-report"].type == "markdown" and "replay:ops_model" in arts["vivek-report"].data
    )
    assert arts["vivek-progress"].type == "progress" and float(arts["vivek-progress"].data) == 100.0
    board = arts["vivek-leaderboard"].data
    board = json.loads(board) if isinstance(board, str) else board
    (row,) = board
    assert row["Model"] == "replay:ops_model" and row["Rank"] == "1"
    # The report's cell, as Markdown (the UI renders it as "0.500 [0.100, 0.900]").
    assert re.fullmatch(r"\d\.\d{3} \\\[\d\.\d{3}, \d\.\d{3}\\\]", row["pass@1 [95% CI]"])
    # One model: evaluated with nothing to compare, never a winner; the description also
    # says what changed since the previous comparable run (here: there was none).
    description = arts["vivek-leaderboard"].description
    assert description.startswith("Evaluated (nothing to compare): replay:ops_model")
    assert "Not compared with an earlier run: no earlier run of this suite." in description
    files = arts["vivek-files"].data
    assert arts["vivek-files"].type == "markdown" and f"`{results}`" in files
    assert "report.html" in files and "vivek report" in files


def test_nightly_is_deployed_with_its_cron_schedule(stack):
    nightly = api(stack, lambda c: c.read_deployment_by_name("vivek-evaluate/nightly"))
    adhoc = api(stack, lambda c: c.read_deployment_by_name("vivek-evaluate/adhoc"))
    (schedule,) = nightly.schedules
    assert schedule.active
    assert schedule.schedule.cron == "0 2 * * *"
    assert schedule.schedule.timezone == "Europe/London"
    assert adhoc.schedules == []
    for dep in (nightly, adhoc):
        assert dep.work_pool_name == POOL
        assert dep.entrypoint == "flows/evaluate.py:evaluate"
        assert dep.parameters["config"] == "data/config/nightly.toml"
        (step,) = dep.pull_steps
        # `prefect deploy` resolved {{ $VIVEK_PROJECT_DIR }} from its own environment.
        directory = step["prefect.deployments.steps.set_working_directory"]["directory"]
        assert directory == str(ROOT)
    assert "run" not in nightly.parameters
    assert adhoc.parameters["run"] == {"task_limit": 3, "samples": 1}  # small by default


CONFIG = """models = ["replay:{replay}"]
suite = "basic"
samples = 2
temperature = 0.8
max_tokens = 1024
out = "{out}"
[sandbox]
cpu_s = 5
"""


def merged_config(out) -> dict:
    """The settings a run used, as its meta.json records them."""
    (meta,) = out.glob("*/meta.json")
    return json.loads(meta.read_text())["config"]


@pytest.mark.parametrize("shape", ["form", "partial"])
def test_the_run_parameter_is_merged_field_by_field(stack, tmp_path, shape):
    """The UI's form sends every field of ``run``, null where nothing was typed (what Prefect
    3.9.1's form sent when tried); the CLI's ``--param run=...`` sends a few. Either way a
    field left out comes from the deployment's default run, then the config file."""
    from tasks.config import RunOverrides

    replay = write_replay(tmp_path / "m.jsonl", TASKS, {t.id: ["ref", "ref"] for t in TASKS})
    out = tmp_path / "out"
    config = tmp_path / "vivek.toml"
    config.write_text(CONFIG.format(replay=replay, out=out), encoding="utf-8")
    if shape == "form":
        run = {f.alias or name: None for name, f in RunOverrides.model_fields.items()}
        run |= {"task_limit": 3, "samples": 1}  # the form shows the deployment's defaults
    else:
        run = {"task_limit": 2}  # as `prefect deployment run --param run='{"task_limit": 2}'`
    flow_run, logs = run_adhoc(stack, {"config": str(config), "run": run})
    assert flow_run.state.is_completed(), f"{flow_run.state!r}\n{logs}\n{stack.logs}"
    cfg = merged_config(out)
    # The config file, not RunConfig's defaults (0.2, 512, data/results, 10 s) ...
    assert (cfg["temperature"], cfg["max_tokens"], cfg["out"]) == (0.8, 1024, str(out))
    assert (cfg["sandbox"]["cpu_s"], cfg["sandbox"]["wall_s"]) == (5, 30)
    # ... under the deployment's default run (1 sample, not the file's 2) and the run's own.
    assert cfg["samples"] == 1
    assert cfg["task_limit"] == (3 if shape == "form" else 2)
    assert cfg["models"] == [f"replay:{replay}"]
