"""The HTML report: one self-contained file that works offline.

plotly.js is inlined once (``include_plotlyjs=True`` on the first figure, False
after), so the page fetches nothing: no CDN, no fonts, no images. Every text, in the page
and in the plots, goes through :func:`tasks.report.escape.html`.
"""

from __future__ import annotations

from collections.abc import Sequence

import plotly.graph_objects as go
import pyarrow as pa

from tasks.report import plots
from tasks.report.escape import html as _e
from tasks.report.inputs import ReportInputs
from tasks.report.sections import (
    Section,
    build_sections,
    decision_text,
    meta_items,
    regression_warnings,
)
from tasks.stats.schema import SummaryRow

CSS = """
:root { --fg: #1f2933; --muted: #616e7c; --line: #d9e2ec; --accent: #2e7d32; --warn: #b71c1c; }
* { box-sizing: border-box; }
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg);
       margin: 0; background: #f5f7fa; line-height: 1.45; }
main { max-width: 1320px; margin: 0 auto; padding: 24px 28px 64px; background: #fff; }
h1 { font-size: 1.6rem; margin: 0 0 4px; }
h2 { font-size: 1.2rem; margin: 36px 0 10px; border-bottom: 1px solid var(--line);
     padding-bottom: 4px; }
.sub { color: var(--muted); margin: 0 0 18px; }
.decision { border-left: 5px solid var(--accent); background: #edf7ee; padding: 12px 16px;
            border-radius: 4px; }
.decision.tie { border-left-color: #f9a825; background: #fff8e1; }
.decision.no_decision, .decision.single { border-left-color: #90a4ae; background: #eceff1; }
.warning { border-left: 5px solid var(--warn); background: #fdecea; padding: 10px 16px;
           border-radius: 4px; margin: 8px 0; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; font-size: 0.88rem; }
th, td { border-bottom: 1px solid var(--line); padding: 6px 8px; text-align: left;
         white-space: normal; overflow-wrap: break-word; }
th { background: #f0f4f8; font-weight: 600; white-space: normal; vertical-align: bottom; }
tr:nth-child(even) td { background: #fafbfc; }
ul.notes { color: var(--muted); font-size: 0.85rem; margin: 6px 0 0; padding-left: 18px; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; font-size: 0.88rem; }
dt { font-weight: 600; } dd { margin: 0; word-break: break-all; }
.plot { margin: 12px 0; }
/* Narrow windows (800 px): cells wrap between words, so no table needs to scroll. */
@media (max-width: 960px) {
  main { padding: 16px 12px 48px; }
  table { font-size: 0.78rem; }
  th, td { white-space: normal; padding: 4px 5px; overflow-wrap: break-word; }
}
"""

_CONFIG = {"displaylogo": False, "responsive": True}


def _table(section: Section) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in section.headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{_e(c)}</td>" for c in row) + "</tr>" for row in section.rows
    )
    notes = "".join(f"<li>{_e(n)}</li>" for n in section.notes)
    out = f'<h2 id="{_e(section.key)}">{_e(section.title)}</h2>'
    if section.rows:  # a section with nothing to list says so in its notes
        table = f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
        out += f'<div class="scroll">{table}</div>'
    if notes:
        out += f'<ul class="notes">{notes}</ul>'
    return out


class _Figures:
    """Turns figures into divs, inlining plotly.js with the first one only."""

    def __init__(self) -> None:
        self.inlined = False

    def div(self, fig: go.Figure) -> str:
        text = fig.to_html(full_html=False, include_plotlyjs=not self.inlined, config=_CONFIG)
        self.inlined = True
        return f'<div class="plot">{text}</div>'


def _plots_by_section(
    results: pa.Table, summary: Sequence[SummaryRow]
) -> dict[str, list[go.Figure]]:
    if not summary:
        return {}
    models = [r.model for r in summary]
    heatmap, _ = plots.pass_heatmap(results, models)
    figures = {
        "leaderboard": [plots.primary_ci(summary), heatmap],
        "statuses": [plots.status_bars(summary)],
        "cost": [plots.cost_quality(summary)],
        "latency": [plots.latency_boxes(results, models)],
    }
    # A plot with nothing to show is left out; its section's notes say why.
    return {key: [f for f in figs if f is not None] for key, figs in figures.items()}


def render_html(results: pa.Table, report: ReportInputs) -> str:
    """Render the report as one offline HTML page with interactive plots.

    ``results`` is the results table, for the latency and per-task plots.
    """
    meta, history = report.meta, report.history
    title = f"Vivek report: {meta.get('run_id', 'run')}"
    rows = SummaryRow.read(report.summary)
    figures = _Figures()
    by_section = _plots_by_section(results, rows)
    parts = [f"<h1>{_e(title)}</h1>"]
    sub = " · ".join(f"{k}: {v}" for k, v in meta_items(meta) if k in ("suite", "created"))
    if sub:
        parts.append(f'<p class="sub">{_e(sub)}</p>')
    parts += [
        f'<div class="warning"><strong>Warning.</strong> {_e(w)}</div>'
        for w in regression_warnings(history)
    ]
    kind = rows[0].decision_kind if rows else "no_decision"
    box = f'<div class="decision {_e(kind)}">{_e(decision_text(rows))}</div>'
    parts.append(f"<h2>Decision</h2>{box}")
    for section in build_sections(rows, report.comparisons, history):
        parts.append(_table(section))
        parts += [figures.div(fig) for fig in by_section.get(section.key, [])]
    items = "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in meta_items(meta))
    parts.append(f"<h2>Run</h2><dl>{items}</dl>")
    body = "\n".join(parts)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(title)}</title><style>{CSS}</style></head>"
        f"<body><main>\n{body}\n</main></body></html>\n"
    )
