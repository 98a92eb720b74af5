"""The evaluate flow and the ``vivek eval`` command with real SmolLM2, both backends at once."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from flows.cli import main
from flows.evaluate import evaluate
from tasks.config import RunConfig
from tasks.record.results import COLUMN_NAMES, SCHEMA
from tasks.report.escape import md
from tasks.suites.load import load_suite

pytestmark = [pytest.mark.llm, pytest.mark.slow, pytest.mark.usefixtures("prefect_harness")]

MODELS = ["llamacpp:smollm2", "openai-compatible:smollm2"]
TASK_IDS = [t.id for t in load_suite("basic", limit=3).tasks]
# One request at a time per server and a patient timeout: a busy 2-core box queues calls.
CONFIG = """\
[providers.openai-compatible]
max_concurrency = 1
timeout_s = 600
"""


def _read(run_dir: Path) -> dict[str, Any]:
    return {
        "results": pq.read_table(run_dir / "results.parquet"),
        "summary": pq.read_table(run_dir / "summary.parquet").to_pylist(),
        "report": (run_dir / "report.md").read_text(encoding="utf-8"),
    }


@pytest.fixture(scope="module")
def flow_run(tmp_path_factory: pytest.TempPathFactory, llama_server_url: str) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("llm-flow")
    config = tmp / "vivek.toml"
    config.write_text(CONFIG, encoding="utf-8")
    paths = asyncio.run(
        evaluate(
            config=str(config),
            run=RunConfig(
                models=MODELS,
                suite="basic",
                samples=2,
                task_limit=3,
                out=str(tmp / "out"),
                base_url=llama_server_url,
                temperature=0.0,
                max_tokens=64,
                seed=11,
            ),
        )
    )
    return {"paths": paths, **_read(Path(paths["run_dir"]))}


def test_flow_writes_a_row_per_model_task_and_sample(flow_run: dict[str, Any]) -> None:
    table = flow_run["results"]
    assert table.schema.names == COLUMN_NAMES and table.schema.equals(SCHEMA)
    rows = table.to_pylist()
    assert len(rows) == 2 * 3 * 2
    cells = Counter((r["model"], r["task_id"], r["sample"]) for r in rows)
    assert set(cells) == {(m, t, s) for m in MODELS for t in TASK_IDS for s in (0, 1)}
    assert set(cells.values()) == {1}
    assert {r["run_id"] for r in rows} == {flow_run["paths"]["run_id"]}


def test_flow_rows_have_real_tokens_for_both_models(flow_run: dict[str, Any]) -> None:
    rows = flow_run["results"].to_pylist()
    for model in MODELS:
        mine = [r for r in rows if r["model"] == model]
        assert all(r["status"] != "generation_error" for r in mine), model
        assert all(0 < r["completion_tokens"] <= 64 and r["prompt_tokens"] > 0 for r in mine)
        assert all(r["latency_s"] > 0 for r in mine)


def test_both_backends_count_the_same_prompt_tokens(flow_run: dict[str, Any]) -> None:
    # One GGUF, one chat template, one tokenizer: the two paths must agree exactly.
    rows = flow_run["results"].to_pylist()
    counts = {(r["model"], r["task_id"]): r["prompt_tokens"] for r in rows}
    for task_id in TASK_IDS:
        assert counts[(MODELS[0], task_id)] == counts[(MODELS[1], task_id)] > 0


def test_flow_summary_has_one_row_per_model_with_the_rows_totals(
    flow_run: dict[str, Any],
) -> None:
    rows = flow_run["results"].to_pylist()
    summary = {s["model"]: s for s in flow_run["summary"]}
    assert sorted(summary) == sorted(MODELS)
    for model, s in summary.items():
        mine = [r for r in rows if r["model"] == model]
        assert s["n_samples"] == 6 and s["n_tasks"] == 3 and s["min_samples_per_task"] == 2
        assert s["prompt_tokens"] == sum(r["prompt_tokens"] for r in mine)
        assert s["completion_tokens"] == sum(r["completion_tokens"] for r in mine)


def test_local_models_cost_zero_in_results_and_summary(flow_run: dict[str, Any]) -> None:
    assert {r["cost_usd"] for r in flow_run["results"].to_pylist()} == {0.0}
    assert all(s["cost_usd"] == 0.0 and not s["price_unknown"] for s in flow_run["summary"])


def test_flow_report_names_a_winner_or_a_tie(flow_run: dict[str, Any]) -> None:
    report = flow_run["report"]
    assert all(model in report for model in MODELS)
    assert "Winner:" in report or "Tie:" in report
    decision = flow_run["summary"][0]["decision"]
    assert decision.startswith(("Winner:", "Tie:")) and md(decision) in report  # as Markdown


@pytest.fixture(scope="module")
def cli_run(tmp_path_factory: pytest.TempPathFactory, llama_server_url: str) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("llm-cli")
    argv = [
        "eval", "--models", "openai-compatible:smollm2", "--base-url", llama_server_url,
        "--suite", "basic", "--task-limit", "3", "--out", str(out),
        "--max-tokens", "96", "--no-progress",  # short replies keep the suite quick
    ]  # fmt: skip
    code = main(argv)
    [run_dir] = [p for p in out.iterdir() if p.is_dir() and not p.name.startswith(".")]
    return {"code": code, "run_dir": run_dir, **_read(run_dir)}


def test_cli_eval_returns_0_and_writes_the_three_files(cli_run: dict[str, Any]) -> None:
    assert cli_run["code"] == 0
    assert {"results.parquet", "summary.parquet", "report.md"} <= {
        p.name for p in cli_run["run_dir"].iterdir()
    }
    assert "openai-compatible:smollm2" in cli_run["report"]


def test_cli_results_carry_real_token_counts(cli_run: dict[str, Any]) -> None:
    rows = cli_run["results"].to_pylist()
    assert [r["task_id"] for r in rows] == TASK_IDS
    assert all(r["prompt_tokens"] > 0 and 0 < r["completion_tokens"] <= 96 for r in rows)
    [summary] = cli_run["summary"]
    assert summary["prompt_tokens"] == sum(r["prompt_tokens"] for r in rows)
    assert summary["completion_tokens"] == sum(r["completion_tokens"] for r in rows)
    assert summary["n_samples"] == 3 and summary["cost_usd"] == 0.0
