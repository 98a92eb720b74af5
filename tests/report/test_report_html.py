from __future__ import annotations

import re
from dataclasses import replace

import pyarrow as pa
import pytest
from synthetic import synthetic_results

from tasks.report import render_html
from tasks.report.inputs import ReportInputs
from tasks.report.plots import MAX_HEATMAP_TASKS, pass_heatmap
from tasks.stats.summary import summarize

_EXTERNAL = re.compile(
    r"<(?:script|link|img|iframe|source)\b[^>]*\b(?:src|href)\s*=\s*[\"']?\s*(?:https?:)?//",
    re.IGNORECASE,
)


@pytest.fixture(scope="module")
def page(results, summary, history) -> str:
    meta = {"run_id": "20260101T000000Z-abcd", "sandbox": {"backend": "bwrap"}}
    return render_html(results, ReportInputs(summary.summary, summary.comparisons, meta, history))


def test_html_is_self_contained(page):
    assert page.startswith("<!DOCTYPE html>")
    assert not _EXTERNAL.search(page)
    assert "cdn.plot.ly" not in re.sub(r"<script>.*?</script>", "", page, flags=re.S)
    assert "@import" not in page and "url(http" not in page
    # plotly.js is inlined exactly once, and every figure renders with it.
    assert page.count("plotly.js v") == 1
    assert page.count("Plotly.newPlot(") == 5


def test_html_content(page):
    assert "<h2>Decision</h2>" in page
    assert "Tie: fake:model-0, fake:model-1" in page
    assert page.index('class="warning"') < page.index("<h2>Decision</h2>")
    assert 'id="leaderboard"' in page and 'id="history"' in page
    assert "{&#34;backend&#34;: &#34;bwrap&#34;}" in page  # meta is escaped, shown


def test_html_escapes_model_names():
    table = synthetic_results(1, 3, 1, seed=0)
    evil = "<script>alert(1)</script>"
    table = table.set_column(
        table.schema.get_field_index("model"), "model", pa.array([evil] * table.num_rows)
    )
    result = summarize(table, n_boot=20)
    page = render_html(table, ReportInputs(result.summary, result.comparisons, {"run_id": evil}))
    assert evil not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_a_single_model_is_not_drawn_as_a_winner():
    table = synthetic_results(1, 3, 1, seed=0)
    result = summarize(table, n_boot=20)
    page = render_html(table, ReportInputs(result.summary, result.comparisons, {"run_id": "r"}))
    assert '<div class="decision single">Evaluated (nothing to compare)' in page
    css = page[page.index("<style>") : page.index("</style>")]
    assert ".decision.single" in css  # grey like no decision, not the winner's green


def test_heatmap_keeps_the_most_disputed_tasks():
    table = synthetic_results(2, MAX_HEATMAP_TASKS + 50, 1, seed=0, shifts=[0.0, -0.5])
    fig, hidden = pass_heatmap(table)
    assert hidden == 50
    assert len(fig.data[0].y) == MAX_HEATMAP_TASKS
    small, none_hidden = pass_heatmap(synthetic_results(2, 5, 1, seed=0))
    assert none_hidden == 0 and len(small.data[0].y) == 5


def test_report_fixes_of_issue_16_point_9(results, summary, page):
    from tasks.record.types import STATUS_MEANINGS
    from tasks.report import plots
    from tasks.report.sections import build_sections

    table = summary.summary
    models = table["model"].to_pylist()
    # Every status has its own colour, and the names are the taxonomy's.
    assert set(plots.STATUS_COLORS) == set(STATUS_MEANINGS)
    assert len(set(plots.STATUS_COLORS.values())) == len(plots.STATUS_COLORS)
    # Latency boxes are labelled with the model, not "0".
    boxes = plots.latency_boxes(results, models)
    assert [list(t.x) for t in boxes.data] == [[m] for m in models]

    # Every model free: no cost axis to pile them on (the Cost notes name them).
    def costs(values):
        return [
            replace(r, cost_per_sample_usd=v) for r, v in zip(summary.rows, values, strict=True)
        ]

    assert plots.cost_quality(costs([0.0] * table.num_rows)) is None
    # One free, one paid: a dollar axis from 0 (no SI prefix), and a visible Pareto front.
    fig = plots.cost_quality(costs([0.0, 2e-5, 3e-5]))
    assert fig.layout.xaxis.range[0] == 0 and fig.layout.xaxis.range[1] > 0
    assert fig.layout.xaxis.tickformat.startswith("$")
    assert "markers" in fig.data[1].mode
    # The heatmap orders models by rank, like the leaderboard.
    heat, _ = plots.pass_heatmap(results, models)
    assert list(heat.data[0].x) == models
    # Tie and winner do not share one box; no table has an empty header.
    assert 'class="decision tie"' in page
    for section in build_sections(summary.rows, summary.comparisons):
        assert all(h.strip() for h in section.headers), section.key
    # A column per status that occurs, in the taxonomy's order; the others in a note.
    statuses = next(
        s for s in build_sections(summary.rows, summary.comparisons) if s.key == "statuses"
    )
    occurring = [s for s in STATUS_MEANINGS if any(r[f"n_{s}"] for r in table.to_pylist())]
    assert list(statuses.headers[1:]) == occurring and "oom" not in occurring
    assert any(n.startswith("No sample ended as") and "oom" in n for n in statuses.notes)
