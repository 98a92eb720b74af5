"""The Markdown report: warnings first, then the decision, then the tables."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pyarrow as pa

from tasks.report.sections import (
    Section,
    build_sections,
    decision_text,
    meta_items,
    regression_warnings,
)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _table(section: Section) -> list[str]:
    lines = [f"## {section.title}", ""]
    lines.append("| " + " | ".join(_cell(h) for h in section.headers) + " |")
    lines.append("|" + "|".join("---" for _ in section.headers) + "|")
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in section.rows]
    if section.notes:
        lines.append("")
        lines += [f"- {note}" for note in section.notes]
    lines.append("")
    return lines


def render_markdown(
    summary: pa.Table,
    comparisons: pa.Table,
    meta: Mapping[str, Any],
    history: pa.Table | None = None,
) -> str:
    """Render the report as GitHub-flavoured Markdown.

    Args:
        summary: the table from ``tasks.stats.summary.summarize`` (``SUMMARY_SCHEMA``).
        comparisons: the pairwise table (``COMPARISON_SCHEMA``).
        meta: run facts shown at the end (run_id, suite, models, created, sandbox, ...).
        history: ``compare_runs`` output, or None when there is no previous run.
    """
    title = meta.get("run_id", "run")
    lines = [f"# Vivek report: {title}", ""]
    for warning in regression_warnings(history):
        lines += [f"> **Warning.** {warning}", ""]
    lines += ["## Decision", "", decision_text(summary), ""]
    for section in build_sections(summary, comparisons, history):
        lines += _table(section)
    lines += ["## Run", ""]
    lines += [f"- **{_cell(k)}**: {_cell(v)}" for k, v in meta_items(meta)]
    return "\n".join(lines).rstrip() + "\n"
