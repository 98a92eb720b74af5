"""Plotly figures for the HTML report. Each takes the summary rows (or the results table)
and returns a Figure, or None when it would have nothing to show.

Figures carry summaries, never raw rows, so a million-row run still makes a
small page: latency boxes come from precomputed quartiles, and the heatmap
shows at most ``MAX_HEATMAP_TASKS`` tasks (those where models disagree most).
Plotly reads its labels as a small HTML dialect (``<a href>``, ``<b>``): every model
name and task id goes through :func:`tasks.report.escape.html` (``_h``) first.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
import pyarrow as pa
import pyarrow.compute as pc

from tasks.record.types import STATUSES
from tasks.report.escape import html as _h
from tasks.stats.counts import task_matrix
from tasks.stats.schema import SummaryRow

MAX_HEATMAP_TASKS = 150
_LAYOUT = {"template": "plotly_white", "margin": {"l": 60, "r": 20, "t": 50, "b": 60}}
# One distinct colour per status (error orange vs import_error teal, not two yellows).
STATUS_COLORS = {
    "pass": "#2e7d32",
    "fail": "#c62828",
    "error": "#ef6c00",
    "module_error": "#283593",
    "import_error": "#00838f",
    "syntax_error": "#ad1457",
    "no_code": "#757575",
    "timeout": "#6a1b9a",
    "oom": "#4e342e",
    "generation_error": "#64b5f6",
    "sandbox_error": "#b0bec5",
    "suite_error": "#d7ccc8",
}


_RING = {"color": "#2e7d32", "width": 2}


def _gap(high: float | None, low: float | None) -> float | None:
    """An error bar's length; None (no bar) when an end is not known."""
    return None if high is None or low is None else high - low


def primary_ci(summary: Sequence[SummaryRow]) -> go.Figure:
    """Each model's primary metric with its 95% CI as error bars."""
    # (row, value, low, high) of the models with a value and its interval.
    shown = [
        (r, r.primary_value, r.primary_ci_low, r.primary_ci_high)
        for r in summary
        if r.primary_value is not None
    ]
    rows = [r for r, *_ in shown]
    metric = rows[0].primary_metric if rows else "pass@1"
    single = len(rows) == 1  # one model: nothing was compared, no winner and no tie
    colors = [
        "#90a4ae"
        if single
        else "#2e7d32"
        if r.is_winner
        else "#f9a825"
        if r.in_tie_group
        else "#90a4ae"
        for r in rows
    ]
    fig = go.Figure(
        go.Bar(
            x=[_h(r.model) for r in rows],
            y=[v for _, v, _, _ in shown],
            marker_color=colors,
            error_y={
                "type": "data",
                "symmetric": False,
                "array": [_gap(high, v) for _, v, _, high in shown],
                "arrayminus": [_gap(v, low) for _, v, low, _ in shown],
            },
        )
    )
    title = f"{metric} with 95% CI" + ("" if single else " (green: winner, amber: tied at the top)")
    fig.update_layout(title=title, **_LAYOUT)
    fig.update_yaxes(title=metric, range=[0, 1.05])
    return fig


def status_bars(summary: Sequence[SummaryRow]) -> go.Figure:
    """Stacked bars: how each model's samples ended."""
    models = [_h(r.model) for r in summary]
    fig = go.Figure(
        [
            go.Bar(
                name=s,
                x=models,
                y=[getattr(r, f"n_{s}") for r in summary],
                marker_color=STATUS_COLORS[s],
            )
            for s in STATUSES
        ]
    )
    fig.update_layout(barmode="stack", title="Status per sample", **_LAYOUT)
    fig.update_yaxes(title="samples")
    return fig


def cost_quality(summary: Sequence[SummaryRow]) -> go.Figure | None:
    """Cost per sample against the primary metric, with the Pareto front as a line.

    None when no model costs anything: a cost axis would only pile every model at 0 (the
    Cost table's notes name the free models instead).
    """
    rows = [r for r in summary if r.primary_value is not None]
    known = [(r, r.cost_per_sample_usd) for r in rows if r.cost_per_sample_usd is not None]
    top = max((cost for _, cost in known), default=0.0)
    if top <= 0:
        return None
    front = sorted(((r, c) for r, c in known if r.on_pareto_front), key=lambda rc: rc[1])
    metric = rows[0].primary_metric if rows else "pass@1"
    # Labels lean away from the nearer side so that long names stay inside the plot.
    sides = ["top right" if cost < top / 2 else "top left" for _, cost in known]
    fig = go.Figure(
        [
            go.Scatter(
                x=[cost for _, cost in known],
                y=[r.primary_value for r, _ in known],
                text=[_h(r.model) for r, _ in known],
                mode="markers+text",
                textposition=sides,
                cliponaxis=False,
                name="models",
                marker={"size": 12, "color": "#1565c0"},
            ),
            go.Scatter(
                x=[cost for _, cost in front],
                y=[r.primary_value for r, _ in front],
                mode="lines+markers",  # a one-model front is a point: show it
                name="Pareto front",
                line={"color": "#2e7d32", "dash": "dash", "shape": "hv", "width": 3},
                marker={"size": 18, "color": "rgba(0,0,0,0)", "line": _RING},
            ),
        ]
    )
    unknown = [_h(r.model) for r in rows if r.cost_per_sample_usd is None]
    title = f"Cost vs {metric}"
    if unknown:
        title += f" (cost unknown, not shown: {', '.join(unknown)})"
    fig.update_layout(title=title, **_LAYOUT)
    # Plain dollars (no SI prefix: "20µ" reads as nothing), from 0: never a negative cost.
    fig.update_xaxes(
        title="cost per sample (USD)", range=[0, top * 1.15], tickformat="$.2~g", rangemode="tozero"
    )
    fig.update_yaxes(title=metric, range=[0, 1.05])
    return fig


def latency_boxes(results: pa.Table, models: list[str]) -> go.Figure | None:
    """Latency distribution per model as boxes built from quartiles (no raw points).

    None when no model has a measured latency (replayed or reference answers).
    """
    lat = pc.cast(results["latency_s"], pa.float64()).to_numpy(zero_copy_only=False)
    model_col = results["model"]
    fig = go.Figure()
    for model in models:
        mask = pc.equal(model_col, model).to_numpy(zero_copy_only=False)
        values = lat[mask & (lat > 0)]
        if values.size == 0:
            continue
        q1, med, q3 = np.quantile(values, [0.25, 0.5, 0.75])
        iqr = q3 - q1
        low = values[values >= q1 - 1.5 * iqr].min()
        high = values[values <= q3 + 1.5 * iqr].max()
        fig.add_trace(
            go.Box(
                name=_h(model),
                x=[_h(model)],  # precomputed boxes need x, or the axis says "0"
                q1=[q1],
                median=[med],
                q3=[q3],
                lowerfence=[low],
                upperfence=[high],
                mean=[values.mean()],
            )
        )
    if not fig.data:
        return None
    fig.update_layout(title="Latency per call (s)", showlegend=False, **_LAYOUT)
    fig.update_yaxes(title="seconds")
    return fig


def pass_heatmap(results: pa.Table, order: list[str] | None = None) -> tuple[go.Figure, int]:
    """Pass rate per task x model, models in ``order`` (the leaderboard's rank order).

    Returns the figure and the number of tasks left out.
    """
    tm = task_matrix(results.select(["model", "task_id", "status", "overall_score"]))
    names = [m for m in (order or []) if m in tm.models]
    names += [m for m in tm.models if m not in names]
    values = tm.values("pass@1")[[tm.model_index(m) for m in names]]  # NaN where unscored
    tasks = np.arange(len(tm.tasks))
    hidden = 0
    if tasks.size > MAX_HEATMAP_TASKS:
        # Show the tasks that separate the models: highest spread of pass rates.
        filled = np.where(np.isnan(values), 0.0, values)
        spread = filled.max(axis=0) - filled.min(axis=0)
        tasks = np.sort(np.argsort(-spread, kind="stable")[:MAX_HEATMAP_TASKS])
        hidden = len(tm.tasks) - tasks.size
    z = values[:, tasks].T
    fig = go.Figure(
        go.Heatmap(
            z=[[None if np.isnan(v) else float(v) for v in row] for row in z],
            x=[_h(m) for m in names],
            y=[_h(tm.tasks[i]) for i in tasks],
            colorscale="RdYlGn",
            zmin=0,
            zmax=1,
            colorbar={"title": "pass rate"},
        )
    )
    title = "Pass rate per task, models by rank (blank: no scored sample)"
    if hidden:
        title += f"; {hidden} tasks with the least disagreement hidden"
    height = max(350, min(2400, 18 * tasks.size + 120))
    fig.update_layout(title=title, height=height, **_LAYOUT)
    fig.update_yaxes(autorange="reversed", type="category")
    fig.update_xaxes(type="category", categoryorder="array", categoryarray=[_h(m) for m in names])
    return fig, hidden
