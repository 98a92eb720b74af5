"""``tasks.run.plan`` without Prefect: validation up front, one row per cell whatever comes back."""

from __future__ import annotations

import asyncio
import json
from concurrent.futures import Future

import httpx
import pyarrow.parquet as pq
import pytest
import respx
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from local_runner import LocalRunner

import tests.providers.httpx2_respx  # noqa: F401  (registers respx's "httpx2" mocker)
from tasks.config import RunConfig
from tasks.errors import UsageError
from tasks.record.checks import CheckFields
from tasks.record.results import COLUMN_NAMES
from tasks.run.plan import check_writable, prepare, run_plan
from tasks.run.progress import Progress
from tasks.suites.load import load_suite

SUITE = load_suite("basic", limit=3)
URL = "http://127.0.0.1:9/v1/chat/completions"


class FakeChecks(LocalRunner):
    """Real generation; checks replaced by a stub that puts the completion in ``code``."""

    def submit_checks(self, items, plan, label) -> Future:
        future: Future = Future()
        future.set_result([CheckFields("fail", "stub", item.completion) for item in items])
        return future


def replay_file(tmp_path, lines: list[str]) -> str:
    path = tmp_path / "model.jsonl"
    path.write_bytes("\n".join(lines).encode("utf-8", "surrogatepass") + b"\n")
    return str(path)


def plan_for(tmp_path, models: list[str], **kw):
    cfg = RunConfig(models=models, suite="basic", task_limit=3, out=str(tmp_path / "out"), **kw)
    return prepare(cfg)


def rows_of(paths) -> list[dict]:
    table = pq.read_table(paths["results"])
    assert table.schema.names == COLUMN_NAMES
    return table.to_pylist()


def test_one_row_per_cell_without_prefect(tmp_path):
    t0, t1, _ = (t.id for t in SUITE.tasks)
    path = replay_file(
        tmp_path,
        [
            json.dumps({"task_id": t0, "completion": "```python\nx = '\udcff'\n```"}),
            json.dumps({"task_id": t1, "completion": ["a", "list"]}),
        ],
    )
    plan = plan_for(tmp_path, [f"replay:{path}", "mock:fail"], samples=2)
    progress = Progress(plan.cells)
    paths = asyncio.run(run_plan(plan, FakeChecks(), progress))
    rows = rows_of(paths)
    # Progress counts, as the CLI bar and the Prefect progress artifact show them.
    assert progress.line == "generated 12/12 (0 cached), checked 12/12, not passing 12"
    assert len(rows) == plan.cells == 2 * 3 * 2
    by = {(r["model"], r["task_id"], r["sample"]): r for r in rows}
    assert by[("replay:model", t0, 0)]["completion"] == "```python\nx = '\ufffd'\n```"
    assert by[("replay:model", t1, 0)]["status"] == "generation_error"
    assert "'completion' is list" in by[("replay:model", t1, 0)]["error"]
    assert all(r["status"] == "generation_error" for r in rows if r["model"] == "mock:fail")
    meta = json.loads((tmp_path / "out" / plan.run_id / "meta.json").read_text())
    assert meta["state"] == "results"  # the aggregation has not run: recognisable


def test_fresh_reads_neither_cache(tmp_path):
    plan = plan_for(tmp_path, ["mock:x"])
    first = rows_of(asyncio.run(run_plan(plan, FakeChecks())))
    again = rows_of(asyncio.run(run_plan(plan_for(tmp_path, ["mock:x"]), FakeChecks())))
    fresh = rows_of(asyncio.run(run_plan(plan_for(tmp_path, ["mock:x"], fresh=True), FakeChecks())))
    assert [r["cached"] for r in first + again + fresh] == [False] * 3 + [True] * 3 + [False] * 3


def test_read_only_output_fails_before_anything(tmp_path):
    """Issue 13.7: one sentence, before any generation (a file stands where a folder must)."""
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(UsageError, match="is not writable"):
        check_writable(str(blocker / "out"))
    with pytest.raises(UsageError, match="is not writable"):
        prepare(RunConfig(models=["mock:x"], out=str(blocker / "out")))


# --- the property: whatever the server sends, the run completes with one row per cell ---

JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=False)
    | st.text(max_size=20)
    | st.sampled_from(["\udcff", "a\ud800b", "```python\nx = 1\n```"]),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)
FIELDS = (
    "content",
    "finish_reason",
    "prompt_tokens",
    "completion_tokens",
    "choices",
    "usage",
    "message",
)


def completion_with(changes: dict) -> dict:
    body = {
        "id": "x", "object": "chat.completion", "created": 1, "model": "m",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "hi"},
                     "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }  # fmt: skip
    # Inner fields first: a replaced "choices" or "message" then replaces them whole.
    order = {"message": 1, "choices": 2, "usage": 2}
    for key, value in sorted(changes.items(), key=lambda kv: order.get(kv[0], 0)):
        if key in ("choices", "usage"):
            body[key] = value
        elif key == "message":
            body["choices"][0]["message"] = value
        elif key in ("content",):
            body["choices"][0]["message"]["content"] = value
        elif key == "finish_reason":
            body["choices"][0]["finish_reason"] = value
        else:
            body["usage"][key] = value
    return body


REPLY = st.one_of(
    st.binary(max_size=200).map(lambda b: httpx.Response(200, content=b)),
    st.dictionaries(st.sampled_from(FIELDS), JSON, max_size=3).map(
        lambda c: httpx.Response(
            200,
            content=json.dumps(completion_with(c)).encode(),
            headers={"content-type": "application/json"},
        )
    ),
)


@settings(
    max_examples=40,
    deadline=None,
    phases=(Phase.explicit, Phase.reuse, Phase.generate),  # shrinking a run is slow
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(replies=st.lists(REPLY, min_size=3, max_size=3))
def test_any_reply_gives_one_row_per_cell(tmp_path, replies):
    plan = plan_for(tmp_path, ["openai-compatible:m"], base_url="http://127.0.0.1:9/v1", fresh=True)
    with respx.mock(using="httpx2") as api:
        api.post(URL).mock(side_effect=replies * 5)  # retries draw from the same replies
        rows = rows_of(asyncio.run(run_plan(plan, FakeChecks())))
    assert sorted(r["task_id"] for r in rows) == sorted(t.id for t in SUITE.tasks)
    assert all(r["status"] in ("fail", "generation_error") for r in rows)


LINE = st.one_of(
    st.binary(max_size=60).map(lambda b: b.decode("utf-8", "surrogateescape")),
    st.fixed_dictionaries(
        {"task_id": st.sampled_from([t.id for t in SUITE.tasks]) | JSON, "completion": JSON}
    ).map(json.dumps),
)


@settings(
    max_examples=40,
    deadline=None,
    phases=(Phase.explicit, Phase.reuse, Phase.generate),  # shrinking a run is slow
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(lines=st.lists(LINE, max_size=8))
def test_any_replay_file_gives_one_row_per_cell_or_one_sentence(tmp_path, lines):
    path = replay_file(tmp_path, lines)
    try:
        plan = plan_for(tmp_path, [f"replay:{path}"], samples=2)
    except UsageError as exc:
        assert "no usable line" in str(exc)
        return
    rows = rows_of(asyncio.run(run_plan(plan, FakeChecks())))
    assert len(rows) == plan.cells == 6


def test_a_full_disk_leaves_no_temporary_file(tmp_path, monkeypatch):
    """Issue 13.7: the Parquet temp file is removed when the write fails."""
    import pyarrow.parquet

    def full(table, where, **kw):
        where.write(b"PAR1" + b"x" * 1000)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pyarrow.parquet, "write_table", full)
    plan = plan_for(tmp_path, ["mock:x"])
    with pytest.raises(OSError, match="No space"):
        asyncio.run(run_plan(plan, FakeChecks()))
    assert not list((tmp_path / "out").rglob("*.tmp"))
    assert len(list((tmp_path / "out" / ".cache" / "generations").rglob("*.json"))) == 3


def test_an_interrupted_aggregation_is_recognisable_and_report_finishes_it(tmp_path, capsys):
    """Issue 13.8: results without reports say state "results"; ``vivek report`` completes."""
    from flows.aggregate import build_run_reports
    from tasks.run.index import read_index

    plan = plan_for(tmp_path, ["mock:x"])
    paths = asyncio.run(run_plan(plan, FakeChecks()))  # killed here, before the aggregation
    meta = tmp_path / "out" / plan.run_id / "meta.json"
    assert json.loads(meta.read_text())["state"] == "results"
    assert read_index(str(tmp_path / "out")) == []
    build_run_reports(paths["run_dir"])  # what `vivek report RUN` runs
    assert json.loads(meta.read_text())["state"] == "complete"
    assert [e["run_id"] for e in read_index(str(tmp_path / "out"))] == [plan.run_id]
    assert (tmp_path / "out" / plan.run_id / "report.html").exists()


def test_run_index_survives_concurrent_writers(tmp_path):
    """Issue 14.7: one file per run; every entry of 40 concurrent writers is kept."""
    from concurrent.futures import ThreadPoolExecutor

    from tasks.run.index import add_to_index, read_index

    out = str(tmp_path)
    (tmp_path / "index.jsonl").write_text(json.dumps({"run_id": "0-old", "suite": "s"}) + "\n")
    entries = [{"run_id": f"run-{i:03d}", "suite": "s"} for i in range(40)]
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda e: add_to_index(out, e), entries))
    assert [e["run_id"] for e in read_index(out)] == ["0-old"] + [e["run_id"] for e in entries]


def test_runtime_settings_are_built_from_the_settings_models_whose_defaults_they_hold():
    """Defaults once: the run's options, limits, retries and provider settings come from
    RunConfig, and RunConfig's defaults are the runtime records' own."""
    from tasks.config import RetrySettings, SandboxSettings
    from tasks.providers.base import ProviderConfig
    from tasks.providers.retry import RetryPolicy
    from tasks.record.types import GenerationOptions
    from tasks.run.plan import provider_config
    from tasks.sandbox.types import Limits

    cfg = RunConfig()
    assert cfg.generation_options() == GenerationOptions()
    assert SandboxSettings().limits() == Limits()
    assert RetrySettings().policy() == RetryPolicy()
    assert provider_config(cfg, "openai:gpt-x") == ProviderConfig()
    # One model in memory answers one call at a time, unless the settings say otherwise.
    assert provider_config(cfg, "llamacpp:smollm2").max_concurrency == 1
    tuned = RunConfig.model_validate(
        {"providers": {"llamacpp": {"max_concurrency": 3, "timeout_s": 9}}, "temperature": 0.7}
    )
    assert provider_config(tuned, "llamacpp:smollm2").max_concurrency == 3
    assert provider_config(tuned, "llamacpp:smollm2").timeout_s == 9
    assert tuned.generation_options().temperature == 0.7
    assert RunConfig(system_prompt="be brief").generation_options().system_prompt == "be brief"


def test_the_plain_python_run_imports_no_prefect():
    """The plan, the checks' sandboxes, the record and the summary load without Prefect."""
    import subprocess
    import sys

    code = (
        "import sys, tasks.run.plan, tasks.run.sandboxes, tasks.record.results, "
        "tasks.stats.summary; print(sorted(m for m in sys.modules if m.split('.')[0] == 'prefect'))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
