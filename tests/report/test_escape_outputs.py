"""Hostile names in every output a person opens: report.md, report.html (its plots too),
the Prefect artifacts and the webhook messages.

Each example renders one run twice: with generated hostile strings as model names, task
ids, the suite name, error texts and completions, and with plain placeholders in their
place. Parsed, the two must hold the same markup: a tag, link, image, cell or heading
that only the hostile render has came from a name.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import pyarrow as pa
import pytest
from hostile_text import NAME, autolink_bait, html_shape, markdown_shape
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from synthetic import synthetic_results

from flows.aggregate import files_markdown, leaderboard_description, leaderboard_rows
from tasks.report import render_html, render_markdown
from tasks.report.html import _plots_by_section
from tasks.report.inputs import ReportInputs
from tasks.run.events import RunFacts, run_events
from tasks.stats.history import compare_runs
from tasks.stats.summary import summarize

pytestmark = pytest.mark.slow

N_TASKS = 4


def _set(table: pa.Table, name: str, values: list[Any]) -> pa.Table:
    index = table.schema.get_field_index(name)
    return table.set_column(index, table.schema.field(index), pa.array(values))


def run_table(models, tasks, suite, error, completion, *, run_id, shifts) -> pa.Table:
    """Two scored models and one whose every call failed with ``error``; the last task's
    tests are broken (suite_error) for every model, so it is listed as dropped."""
    table = synthetic_results(3, N_TASKS, 1, seed=3, shifts=shifts, run_id=run_id)
    m_idx = [i // N_TASKS for i in range(table.num_rows)]
    t_idx = [i % N_TASKS for i in range(table.num_rows)]
    status = [
        "generation_error" if m == 2 else "suite_error" if t == N_TASKS - 1 else s
        for m, t, s in zip(m_idx, t_idx, table["status"].to_pylist(), strict=True)
    ]
    table = _set(table, "model", [models[m] for m in m_idx])
    table = _set(table, "task_id", [tasks[t] for t in t_idx])
    table = _set(table, "suite", [suite] * table.num_rows)
    table = _set(table, "status", status)
    table = _set(table, "error", [error if s != "pass" else "" for s in status])
    return _set(table, "completion", [completion] * table.num_rows)


def outputs(models, tasks, suite, error, completion, run_id) -> dict[str, Any]:
    """Every output of a run that regressed against an earlier one of the same names."""
    args = (models, tasks, suite, error, completion)
    before = run_table(*args, run_id=f"{run_id}-before", shifts=[0.5, 0.0, 0.0])
    now = run_table(*args, run_id=run_id, shifts=[-0.6, 0.0, 0.0])
    result = summarize(now, n_boot=50)
    history = compare_runs(before, now, n_boot=50)
    meta = {"run_id": run_id, "suite": suite, "models": models}
    summary_rows = result.rows
    paths = {k: f"/runs/{run_id}/{k}" for k in ("report_html", "report_md", "results")}
    facts = [
        RunFacts(rid, f"/runs/{rid}", table, summarize(table, n_boot=50).summary, "", {})
        for rid, table in ((f"{run_id}-before", before), (run_id, now))
    ]
    events = run_events(facts[1], facts[0])
    return {
        "report.md": render_markdown(
            ReportInputs(result.summary, result.comparisons, meta, history)
        ),
        "report.html": render_html(
            now, ReportInputs(result.summary, result.comparisons, meta, history)
        ),
        "figures": _plots_by_section(now, result.rows),
        "leaderboard": [v for row in leaderboard_rows(summary_rows) for v in row.values()],
        "artifact texts": [
            leaderboard_description(summary_rows, " ".join(events[0].payload["changes"]), run_id),
            files_markdown(f"/runs/{run_id}", paths),
            *(e.payload["message"] for e in events),
            *(e.payload["subject"] for e in events),
        ],
    }


def _strings(value: Any):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            if key != "template":
                yield from _strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)


names = st.lists(NAME, min_size=3 + N_TASKS + 2, max_size=3 + N_TASKS + 2, unique=True)


@cache
def plain_outputs() -> dict[str, Any]:
    models, tasks = [f"model{i}" for i in range(3)], [f"task{i}" for i in range(N_TASKS)]
    return outputs(models, tasks, "suite", "error", "completion", "run")


@settings(
    max_examples=12,
    deadline=None,
    # Shrinking a whole run takes minutes; the failing names are printed as drawn.
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(names, NAME, NAME)
def test_no_markup_comes_from_a_name(strings, error, completion):
    models, tasks = strings[:3], strings[3 : 3 + N_TASKS]
    suite, run_id = strings[-2], strings[-1].replace("/", "_")  # a run id names a folder
    hostile = outputs(models, tasks, suite, error, completion, run_id)
    plain = plain_outputs()

    assert markdown_shape(hostile["report.md"]) == markdown_shape(plain["report.md"])
    assert not autolink_bait(hostile["report.md"])
    for got, want in zip(hostile["leaderboard"], plain["leaderboard"], strict=True):
        assert markdown_shape(str(got)) == markdown_shape(str(want))
    for got, want in zip(hostile["artifact texts"], plain["artifact texts"], strict=True):
        assert markdown_shape(got) == markdown_shape(want), got
        assert not autolink_bait(got)

    tags, values = html_shape(hostile["report.html"])
    assert tags == html_shape(plain["report.html"])[0]
    assert not any("evil.example" in v for v in values)
    # Plotly draws labels from a small HTML dialect: no "<" may reach a figure.
    for figures in hostile["figures"].values():
        for figure in figures:
            assert not [s for s in _strings(figure.to_plotly_json()) if "<" in s]
