"""The Markdown report: warnings first, then the decision, then the tables.

Every piece of text comes from the sections as plain text and goes through
:func:`tasks.report.escape.md`: the only markup in the file is what this module writes.
"""

from __future__ import annotations

from tasks.report.escape import md
from tasks.report.inputs import ReportInputs
from tasks.report.sections import (
    Section,
    build_sections,
    decision_text,
    meta_items,
    regression_warnings,
)
from tasks.stats.schema import SummaryRow


def _table(section: Section) -> list[str]:
    lines = [f"## {md(section.title)}", ""]
    if section.rows:  # a section with nothing to list says so in its notes, not as a bare header
        lines.append("| " + " | ".join(md(h) for h in section.headers) + " |")
        lines.append("|" + "|".join("---" for _ in section.headers) + "|")
        lines += ["| " + " | ".join(md(c) for c in row) + " |" for row in section.rows]
        lines.append("")
    lines += [f"- {md(note)}" for note in section.notes]
    if section.notes:
        lines.append("")
    return lines


def render_markdown(report: ReportInputs) -> str:
    """Render the report as GitHub-flavoured Markdown."""
    meta, history = report.meta, report.history
    title = meta.get("run_id", "run")
    lines = [f"# Vivek report: {md(title)}", ""]
    for warning in regression_warnings(history):
        lines += [f"> **Warning.** {md(warning)}", ""]
    rows = SummaryRow.read(report.summary)
    lines += ["## Decision", "", md(decision_text(rows)), ""]
    for section in build_sections(rows, report.comparisons, history):
        lines += _table(section)
    lines += ["## Run", ""]
    lines += [f"- **{md(k)}**: {md(v)}" for k, v in meta_items(meta)]
    return "\n".join(lines).rstrip() + "\n"
