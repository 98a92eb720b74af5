"""Which events a run emits: a pure function of this run's and the previous run's tables."""

from __future__ import annotations

import os

import pytest
from synthetic import table_of

from flows.alerts import PLACEHOLDER, render_automation
from tasks.report.escape import md
from tasks.run.events import (
    COMPLETED,
    DEGRADED,
    REGRESSED,
    WINNER_CHANGED,
    RunFacts,
    differences,
    run_events,
)
from tasks.stats.summary import summarize

TASKS = [f"t{i}" for i in range(30)]


def _results(run_id: str, passing: dict[str, int], *, seed=None, broken: int = 0, tasks=TASKS):
    """Each model passes its first ``passing[model]`` tasks; ``broken`` cells fail to generate."""
    rows = []
    for model, n_pass in passing.items():
        for i, task in enumerate(tasks):
            status = "pass" if i < n_pass else "fail"
            if i >= len(tasks) - broken:
                status = "generation_error"
            rows.append(
                {
                    "run_id": run_id,
                    "suite": "basic",
                    "model": model,
                    "task_id": task,
                    "sample": 0,
                    "status": status,
                    "overall_score": 1.0 if status == "pass" else 0.0,
                    "temperature": 0.2,
                    "max_tokens": 512,
                    "seed": seed,
                    "system_prompt": "s",
                    "checker_version": "4",
                }
            )
    return table_of(rows)


def _facts(run_id: str, passing: dict[str, int], **kw) -> RunFacts:
    results = _results(run_id, passing, **kw)
    summary = summarize(results, n_boot=500).summary
    return RunFacts(run_id, f"out/{run_id}", results, summary, report=f"out/{run_id}/report.html")


def _names(events):
    return [e.event for e in events]


def test_first_run_says_it_has_nothing_to_compare_with_and_raises_no_alert():
    events = run_events(_facts("r1", {"a": 28, "b": 5}), None)
    assert _names(events) == [COMPLETED]
    payload = events[0].payload
    assert payload["compared"] is False
    assert "no earlier run" in payload["not_compared_because"]
    assert payload["winner"] == "a"
    assert payload["pass_at_1"]["a"] == pytest.approx(28 / 30)


def test_significant_drop_is_a_regression_naming_model_change_and_interval():
    prev = _facts("r1", {"a": 28, "b": 27})
    cur = _facts("r2", {"a": 2, "b": 27})
    events = run_events(cur, prev)
    regressed = [e for e in events if e.event == REGRESSED]
    assert [e.models for e in regressed] == [("a",)]
    p = regressed[0].payload
    assert p["delta"] == pytest.approx(-26 / 30)
    assert p["ci_low"] <= p["delta"] <= p["ci_high"] < 0
    assert "a regressed" in p["message"] and "95% CI adjusted for 2 comparisons" in p["message"]
    assert "out/r2/report.html" in p["message"]
    # The decision moved from a tie (or a) to b: that is its own event.
    assert WINNER_CHANGED in _names(events)
    assert events[0].payload["alerts"] == _names(events)[1:]


def test_an_equal_run_fires_nothing():
    prev = _facts("r2", {"a": 2, "b": 27})
    cur = _facts("r3", {"a": 2, "b": 27})
    assert _names(run_events(cur, prev)) == [COMPLETED]


def test_a_small_drop_that_is_not_significant_is_not_a_regression():
    prev = _facts("r1", {"a": 20, "b": 5})
    cur = _facts("r2", {"a": 19, "b": 5})
    assert REGRESSED not in _names(run_events(cur, prev))


def test_runs_with_other_settings_are_not_compared():
    prev = _facts("r1", {"a": 28, "b": 5}, seed=1)
    cur = _facts("r2", {"a": 2, "b": 5}, seed=2)
    events = run_events(cur, prev)
    assert _names(events) == [COMPLETED]
    assert "seed" in events[0].payload["not_compared_because"]
    assert differences(prev, prev) == []


def test_degraded_run_when_too_many_cells_failed_to_generate():
    events = run_events(_facts("r1", {"a": 10}, broken=10), None, degraded_share=0.2)
    degraded = [e for e in events if e.event == DEGRADED]
    assert len(degraded) == 1
    assert degraded[0].payload["failed_cells"] == 10
    assert "10 of 30" in degraded[0].payload["message"]
    assert DEGRADED not in _names(run_events(_facts("r1", {"a": 10}, broken=3), None))


def test_rendered_automation_is_one_prefect_accepts():
    import yaml
    from prefect.events.schemas.automations import AutomationCore

    text = render_automation("6f1e0a4e-0000-4000-8000-000000000001")
    assert PLACEHOLDER not in text
    automation = AutomationCore.model_validate(yaml.safe_load(text))
    assert set(automation.trigger.expect) == {REGRESSED, WINNER_CHANGED, DEGRADED}
    assert str(automation.actions[0].block_document_id).endswith("000000000001")


def _one_model(run_id: str, n_tasks: int, passing: int) -> RunFacts:
    tasks = [f"t{i}" for i in range(n_tasks)]
    return _facts(run_id, {"replay:alpha": passing}, tasks=tasks)


def test_a_fall_on_3_tasks_says_no_change_could_be_detected_and_how_many_tasks_would():
    """Issue 22/23: 1.000 -> 0.000 on 3 tasks is not a regression, and says why."""
    events = run_events(_one_model("r2", 3, 0), _one_model("r1", 3, 3))
    assert _names(events) == [COMPLETED]
    payload = events[0].payload
    [change] = payload["changes"]
    assert change.startswith("replay:alpha: no significant change on basic: pass@1 1.000 -> 0.000")
    assert "3 tasks: too few for any change to be detected; at least 6 are needed" in change
    assert md(change) in payload["message"]  # the same words, as Markdown
    assert "evaluated (nothing to compare)" in payload["message"]  # one model: not a winner


def test_a_fall_on_40_tasks_is_a_regression_in_the_same_words_everywhere():
    events = run_events(_one_model("r2", 40, 0), _one_model("r1", 40, 40))
    assert _names(events) == [COMPLETED, REGRESSED]
    [change] = events[0].payload["changes"]
    assert change.startswith("replay:alpha regressed on basic: pass@1 1.000 -> 0.000")
    assert "40 tasks; run r1 -> r2" in change and "Holm p<0.001" in change
    report = os.path.abspath("out/r2/report.html")
    assert events[1].payload["message"] == f"Vivek: {md(change)} Report: `{report}`"


def test_a_small_non_significant_change_says_the_smallest_change_it_could_show():
    events = run_events(_facts("r2", {"a": 19, "b": 5}), _facts("r1", {"a": 20, "b": 5}))
    changes = events[0].payload["changes"]
    assert len(changes) == 2 and all("no significant change" in c for c in changes)
    assert all(
        "30 tasks: only a change of" in c and "or more could be detected" in c for c in changes
    )
