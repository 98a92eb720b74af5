"""Prefect events for a finished run, so a regression reaches a person.

``run_events`` decides, as a pure function of the run's tables and the previous
comparable run's, which events to send: ``vivek.run.completed`` always,
``vivek.model.regressed`` for each significant drop of the primary metric (the same
paired test and Holm correction as the report), ``vivek.winner.changed`` when the
decision differs, and ``vivek.run.degraded`` when too many cells failed for reasons that
are not the model's answers. ``emit_run_events`` sends them with Prefect's
``emit_event``; an automation (``data/automations/regression.yaml``) turns them into
notifications. Every event carries a ready-made ``subject`` and ``message`` in its
payload, written as Markdown: the names in them (models, suite, runs) come from outside
and are escaped with :func:`tasks.report.escape.md`, so a webhook that renders Markdown
(Slack, a chat) shows them as text, never as a link, image or tag.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from tasks.metrics import Metric
from tasks.report.escape import md, md_code
from tasks.stats.schema import SummaryRow

COMPLETED = "vivek.run.completed"
REGRESSED = "vivek.model.regressed"
WINNER_CHANGED = "vivek.winner.changed"
DEGRADED = "vivek.run.degraded"
ALERTS = (REGRESSED, WINNER_CHANGED, DEGRADED)
# Statuses that say the cell was never judged on its answer.
FAILED_INFRA = ("generation_error", "sandbox_error")


@dataclass(frozen=True)
class RunFacts:
    """One run as the events see it: its tables and where its report is."""

    run_id: str
    run_dir: str
    results: pa.Table
    summary: pa.Table
    report: str = ""
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RunEvent:
    """An event to emit: its name, payload and the models it concerns."""

    event: str
    payload: dict[str, Any]
    models: tuple[str, ...] = field(default=())


def _distinct(table: pa.Table, column: str) -> list[Any]:
    if column not in table.column_names:
        return []
    return sorted(pc.unique(table[column]).to_pylist(), key=repr)


def differences(prev: RunFacts, cur: RunFacts) -> list[str]:
    """Why two runs cannot be compared like with like ([] when they can)."""
    from tasks.stats.settings import run_settings, settings_differences

    return settings_differences(
        run_settings(prev.results, prev.meta), run_settings(cur.results, cur.meta)
    )


Verdict = tuple[str | None, tuple[str, ...], str]


def decision(summary: pa.Table) -> Verdict:
    """(winner or None, tie group, kind) from a summary table."""
    rows = SummaryRow.read(summary)
    winner = next((r.model for r in rows if r.is_winner), None)
    tie = tuple(sorted(r.model for r in rows if r.in_tie_group))
    kind = (rows[0].decision_kind or "") if rows else "no_decision"
    if winner:
        return winner, (), "winner"
    return None, tie, kind or ("tie" if tie else "no_decision")


def _describe(verdict: Verdict) -> str:
    winner, tie, kind = verdict
    if winner:
        return f"winner {winner}"
    if kind == "single" and tie:
        return f"{tie[0]} evaluated (nothing to compare)"
    return f"tie between {', '.join(tie)}" if tie else "no decision"


def _location(path: str) -> str:
    """Where the report is, absolute for a local path (a relative one means nothing to the
    person who gets the message), as a code span."""
    if path and "://" not in path:
        path = os.path.abspath(path)
    return md_code(path)


def _pass_at_1(summary: pa.Table) -> dict[str, float | None]:
    return {r.model: r.pass_at_1 for r in SummaryRow.read(summary)}


def run_events(
    cur: RunFacts,
    prev: RunFacts | None,
    *,
    primary: Metric = "pass@1",
    degraded_share: float = 0.2,
) -> list[RunEvent]:
    """The events for ``cur``; ``prev`` is the previous comparable run of the same suite.

    The completed event's ``changes`` are the sentences that say what changed since
    ``prev`` (one per model, from ``tasks.stats.history.change_sentence``, then the
    decision when it changed), or why nothing was compared; the terminal and the
    leaderboard artifact print exactly these, and the alert events carry the same text.
    """
    from tasks.stats.history import change_sentence, compare_runs

    verdict = decision(cur.summary)
    models = tuple(sorted(_pass_at_1(cur.summary)))
    where = cur.report or cur.run_dir
    loc = _location(where)  # messages are Markdown: every outside name in them is escaped
    suite = (_distinct(cur.results, "suite") or [""])[0]
    base = {"run_id": cur.run_id, "run_dir": cur.run_dir, "report": where, "suite": suite}
    why_not = differences(prev, cur) if prev else ["no earlier run of this suite"]
    comparable = prev is not None and not why_not
    events: list[RunEvent] = []
    changes: list[str] = []
    if comparable and prev is not None:
        for r in compare_runs(prev.results, cur.results, primary=primary).to_pylist():
            if r["present_in"] != "both":
                continue
            sentence = change_sentence(r)
            changes.append(sentence)
            if r["regression"]:
                msg = f"Vivek: {md(sentence)} Report: {loc}"
                payload = {**base, **r, "previous_run_id": prev.run_id, "message": msg}
                events.append(RunEvent(REGRESSED, payload, (r["model"],)))
        before = decision(prev.summary)
        if before[:2] != verdict[:2]:
            sentence = (
                f"The decision on {suite} changed from {_describe(before)} to "
                f"{_describe(verdict)} (run {prev.run_id} -> {cur.run_id})."
            )
            changes.append(sentence)
            payload = {
                **base,
                "previous_run_id": prev.run_id,
                "previous_winner": before[0],
                "previous_tie_group": list(before[1]),
                "winner": verdict[0],
                "tie_group": list(verdict[1]),
                "message": f"Vivek: {md(sentence)} Report: {loc}",
            }
            events.append(RunEvent(WINNER_CHANGED, payload, models))
    else:
        changes.append(f"Not compared with an earlier run: {'; '.join(why_not)}.")
    n = cur.results.num_rows
    failed = 0
    if n and "status" in cur.results.column_names:
        failed = int(pc.sum(pc.is_in(cur.results["status"], pa.array(FAILED_INFRA))).as_py() or 0)
    if n and failed / n > degraded_share:
        msg = (
            f"Vivek: run {md(cur.run_id)} on {md(suite)} is degraded: {failed} of {n} cells "
            f"({failed / n:.0%}) ended as generation_error or sandbox_error "
            f"(threshold {degraded_share:.0%}). Report: {loc}"
        )
        payload = {**base, "failed_cells": failed, "cells": n, "threshold": degraded_share}
        events.append(RunEvent(DEGRADED, {**payload, "message": msg}, models))
    completed = {
        **base,
        "models": list(models),
        "winner": verdict[0],
        "tie_group": list(verdict[1]),
        "decision_kind": verdict[2],
        "pass_at_1": _pass_at_1(cur.summary),
        "previous_run_id": prev.run_id if comparable and prev else None,
        "compared": comparable,
        "not_compared_because": "; ".join(why_not) if not comparable else "",
        "changes": changes,
        "alerts": [e.event for e in events],
    }
    completed["message"] = (
        f"Vivek: run {md(cur.run_id)} on {md(suite)} completed: {md(_describe(verdict))}. "
        + md(" ".join(changes))
    )
    events.insert(0, RunEvent(COMPLETED, completed, models))
    # The notification's subject line (the automation's template uses it).
    return [
        RunEvent(e.event, {**e.payload, "subject": f"Vivek: {e.event} on {md(suite)}"}, e.models)
        for e in events
    ]


def what_changed(events: Sequence[RunEvent]) -> list[str]:
    """The sentences saying what changed since the previous comparable run (see run_events)."""
    for ev in events:
        if ev.event == COMPLETED:
            return list(ev.payload.get("changes", []))
    return []


def emit_run_events(run_id: str, events: Sequence[RunEvent]) -> int:
    """Send ``events`` to Prefect (when an API is reachable); return how many were sent."""
    from prefect.events import emit_event

    sent = 0
    resource = {"prefect.resource.id": f"vivek.run.{run_id}", "prefect.resource.name": run_id}
    for ev in events:
        related = [
            {
                "prefect.resource.id": f"vivek.model.{m}",
                "prefect.resource.role": "model",
                "prefect.resource.name": m,
            }
            for m in ev.models
        ]
        payload = _jsonable(ev.payload)
        if emit_event(event=ev.event, resource=resource, related=related, payload=payload):
            sent += 1
    return sent


def _jsonable(value: Any) -> Any:
    """Payload values as JSON types (NaN and unknown objects become None / str)."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, float) and value != value:
        return None
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def load_facts(run_dir: str, report: str = "") -> RunFacts | None:
    """A run's facts from its folder, or None when its tables are missing or unreadable."""
    from tasks.record.results import read_table
    from tasks.stats.settings import read_meta

    run_dir = run_dir.rstrip("/")
    try:
        results = read_table(f"{run_dir}/results.parquet")
        summary = read_table(f"{run_dir}/summary.parquet")
    except (OSError, ValueError, pa.ArrowException):
        return None
    meta = read_meta(run_dir)
    return RunFacts(run_dir.rsplit("/", 1)[-1], run_dir, results, summary, report, meta)
