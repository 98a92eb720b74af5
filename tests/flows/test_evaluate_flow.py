"""The evaluation flow end to end over ``replay`` (no model, real sandbox, real Prefect)."""

from __future__ import annotations

import asyncio
import json

import pyarrow.parquet as pq
import pytest
from nulls import FILLED_WITHOUT_GENERATION, NULLABLE, RUNTIME

from flows.evaluate import evaluate
from tasks.config import RunConfig
from tasks.record.results import COLUMN_NAMES
from tasks.report.escape import md
from tasks.run.index import read_index
from tasks.suites.load import load_suite

pytestmark = [pytest.mark.usefixtures("prefect_harness"), pytest.mark.slow]

SUITE = load_suite("basic", limit=3)


@pytest.fixture
def replay(tmp_path):
    """A replay file: sample 0 is the reference, sample 1 prose; the last task is missing."""
    path = tmp_path / "ref_model.jsonl"
    with path.open("w") as fh:
        for task in SUITE.tasks[:2]:
            fh.write(
                json.dumps({"task_id": task.id, "completion": f"```python\n{task.reference}```"})
                + "\n"
            )
            fh.write(json.dumps({"task_id": task.id, "completion": "Sorry, no idea."}) + "\n")
    return path


def run(**kwargs):
    return asyncio.run(evaluate(run=RunConfig.model_validate(kwargs)))


def test_flow_writes_results_summary_and_report(tmp_path, replay):
    out = tmp_path / "out"
    paths = run(models=[f"replay:{replay}"], suite="basic", task_limit=3, samples=2, out=str(out))
    table = pq.read_table(paths["results"])
    assert table.schema.names == COLUMN_NAMES
    rows = table.to_pylist()
    assert len(rows) == 3 * 2
    by = {(r["task_id"], r["sample"]): r for r in rows}
    t0, _, t2 = (t.id for t in SUITE.tasks)
    assert (
        by[(t0, 0)]["status"] == "pass"
        and by[(t0, 0)]["tests_passed"] == by[(t0, 0)]["tests_total"] > 0
    )
    assert by[(t0, 1)]["status"] == "no_code"
    assert by[(t2, 0)]["status"] == "generation_error" and t2 in by[(t2, 0)]["error"]
    assert by[(t2, 0)]["error_kind"] == "permanent"
    replayed = {"cost_usd", "prompt_tokens", "completion_tokens", "latency_s"}
    for row in rows:
        assert row["run_id"] == paths["run_id"] and row["model"] == "replay:ref_model"
        if row["status"] == "pass":  # measured: every column but what a replay cannot know
            for col in set(COLUMN_NAMES) - NULLABLE - replayed:
                assert row[col] is not None, col
        else:  # no_code, generation_error: the checks never ran, so nothing is 0
            for col in FILLED_WITHOUT_GENERATION:
                assert row[col] is not None, col
            for col in RUNTIME:
                assert row[col] is None, (row["status"], col)
    summary = pq.read_table(paths["summary"]).to_pylist()
    assert [s["model"] for s in summary] == ["replay:ref_model"]
    with open(paths["report_md"]) as fh:
        report = fh.read()
    # One model: evaluated, with nothing to compare it with; never called a winner.
    assert "Evaluated (nothing to compare): replay:ref_model" in report
    assert "winner" not in report.lower()


def test_rerun_makes_no_provider_calls_and_fresh_does(tmp_path, replay):
    out = str(tmp_path / "out")
    first = run(models=[f"replay:{replay}"], suite="basic", task_limit=2, samples=1, out=out)
    second = run(models=[f"replay:{replay}"], suite="basic", task_limit=2, samples=1, out=out)
    a = pq.read_table(first["results"]).to_pylist()
    b = pq.read_table(second["results"]).to_pylist()
    assert not any(r["cached"] for r in a)
    assert all(r["cached"] and r["attempts"] == 0 for r in b)
    assert [r["status"] for r in a] == [r["status"] for r in b]
    assert first["run_id"] != second["run_id"]
    third = run(
        models=[f"replay:{replay}"], suite="basic", task_limit=2, samples=1, out=out, fresh=True
    )
    assert not any(r["cached"] for r in pq.read_table(third["results"]).to_pylist())
    assert len(read_index(out)) == 3


def test_provider_failures_are_rows_and_the_run_goes_on(tmp_path, replay):
    paths = run(
        models=[f"replay:{replay}", "mock:fail", "mock:empty"],
        suite="basic",
        task_limit=2,
        samples=1,
        out=str(tmp_path / "out"),
    )
    rows = pq.read_table(paths["results"]).to_pylist()
    assert len(rows) == 3 * 2
    failed = [r for r in rows if r["model"] == "mock:fail"]
    assert all(r["status"] == "generation_error" and r["error_kind"] == "transient" for r in failed)
    assert all(r["attempts"] >= 2 for r in failed)
    empty = [r for r in rows if r["model"] == "mock:empty"]
    assert all(r["status"] == "no_code" and r["error_kind"] == "" for r in empty)
    assert any(r["status"] == "pass" for r in rows if r["model"] == "replay:ref_model")


def test_report_and_compare_commands_rebuild_from_parquet(tmp_path, replay, capsys):
    from flows.cli import main

    out = tmp_path / "out"
    first = run(models=[f"replay:{replay}"], suite="basic", task_limit=2, samples=2, out=str(out))
    second = run(models=[f"replay:{replay}"], suite="basic", task_limit=2, samples=2, out=str(out))
    # The second run of the suite is compared with the first in its report.
    with open(f"{second['run_dir']}/report.md") as fh:
        assert "replay:ref_model" in fh.read()
    (out / first["run_id"] / "report.md").unlink()
    (out / first["run_id"] / "summary.parquet").unlink()
    capsys.readouterr()
    assert main(["report", first["run_dir"]]) == 0
    assert (out / first["run_id"] / "report.md").exists()
    assert (out / first["run_id"] / "summary.parquet").exists()
    assert "Evaluated (nothing to compare)" in capsys.readouterr().out
    assert main(["compare", first["run_dir"], second["run_dir"]]) == 0
    table = capsys.readouterr().out
    assert "replay:ref_model" in table and "no change" in table


def test_output_location_may_be_an_fsspec_url(tmp_path, replay):
    url = f"file://{tmp_path}/remote"
    paths = run(models=[f"replay:{replay}"], suite="basic", task_limit=2, samples=1, out=url)
    assert paths["results"].startswith("file://")
    run_dir = tmp_path / "remote" / paths["run_id"]
    for name in ("results.parquet", "summary.parquet", "report.md", "report.html", "meta.json"):
        assert (run_dir / name).exists(), name
    assert list((tmp_path / "remote" / ".cache" / "generations").rglob("*.json"))


def test_two_equal_replayed_models_tie_ahead_of_a_worse_one(tmp_path):
    suite = load_suite("basic")
    good = "```python\n{}```"
    files = {}
    for name, wrong in (("alpha", set()), ("beta", {suite.tasks[5].id}), ("gamma", None)):
        path = tmp_path / f"{name}.jsonl"
        with path.open("w") as fh:
            for i, task in enumerate(suite.tasks):
                bad = (wrong is None and i % 4 != 0) or (wrong is not None and task.id in wrong)
                text = "No idea, sorry." if bad else good.format(task.reference)
                fh.write(json.dumps({"task_id": task.id, "completion": text}) + "\n")
        files[name] = path
    paths = run(
        models=[f"replay:{p}" for p in files.values()],
        suite="basic",
        samples=1,
        out=str(tmp_path / "out"),
    )
    summary = {r["model"]: r for r in pq.read_table(paths["summary"]).to_pylist()}
    tie = set(summary["replay:alpha"]["tie_group"])
    assert tie == {"replay:alpha", "replay:beta"}
    assert not any(r["is_winner"] for r in summary.values())
    assert summary["replay:gamma"]["rank"] > max(summary[m]["rank"] for m in tie)
    for r in summary.values():
        assert r["pass_at_1_ci_low"] <= r["pass_at_1"] <= r["pass_at_1_ci_high"]
    with open(paths["report_md"]) as fh:
        report = fh.read()
    assert "Tie" in report and "replay:gamma" in report
    # The leaderboard artifact in the Prefect UI carries the same figures.
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    with get_client(sync_client=True) as client:
        arts = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["vivek-leaderboard"]))
        )
    latest = max(arts, key=lambda a: a.created)  # earlier tests published their own
    board = json.loads(latest.data) if isinstance(latest.data, str) else latest.data
    rows = {r["Model"]: r for r in board}
    assert rows["replay:alpha"]["Decision"] == "tie group" == rows["replay:beta"]["Decision"]
    low, high = (
        summary["replay:gamma"]["pass_at_1_ci_low"],
        summary["replay:gamma"]["pass_at_1_ci_high"],
    )
    value = summary["replay:gamma"]["pass_at_1"]
    assert rows["replay:gamma"]["pass@1 [95% CI]"] == md(f"{value:.3f} [{low:.3f}, {high:.3f}]")
    assert "Tie" in latest.description
