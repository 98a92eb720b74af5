from __future__ import annotations

from tasks.report import render_markdown
from tasks.report.sections import usd


def test_markdown_order_and_content(summary, history, meta):
    md = render_markdown(summary.summary, summary.comparisons, meta, history)
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
    assert "unknown (>= $0)" in md  # model-1 has no price: never shown as a number
    assert "left off the Pareto front" in md
    assert '"backend": "bwrap"' in md
    # Every table row has as many cells as its header.
    lines = md.splitlines()
    header = lines.index(next(x for x in lines if x.startswith("| Rank")))
    width = lines[header].count(" | ")
    assert all(lines[header + k].count(" | ") == width for k in (2, 3, 4))


def test_markdown_without_history_or_comparisons(summary):
    one = summary.summary.slice(0, 1)
    md = render_markdown(one, summary.comparisons.slice(0, 0), {"run_id": "x|y"})
    assert "Warning" not in md and "## Pairwise comparisons" not in md
    assert "previous run" not in md
    assert "x\\|y" in md  # pipes in cells are escaped


def test_usd_formatting():
    assert usd(None) == "unknown"
    assert usd(0.000123456) == "$0.0001235"
    assert usd(1234.5) == "$1,234.50"
