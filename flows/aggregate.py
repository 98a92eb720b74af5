"""The aggregate flow: results.parquet -> summary, comparisons, reports, Prefect artifacts.

Artifacts are Markdown in the Prefect UI: every name in them goes through
:func:`tasks.report.escape.md` (or ``md_code`` for a path).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Sequence
from datetime import UTC, datetime
from urllib.parse import quote

import fsspec
from prefect import flow, get_run_logger
from prefect.artifacts import acreate_markdown_artifact, acreate_table_artifact

from tasks.metrics import Metric, check_metric
from tasks.record.results import read_table
from tasks.report.escape import md, md_code
from tasks.report.sections import leaderboard
from tasks.run.events import RunEvent
from tasks.run.index import add_to_index, mark_complete, previous_comparable
from tasks.stats.runs import recorded_metric
from tasks.stats.schema import SummaryRow
from tasks.stats.settings import read_meta


def build_run_reports(run_dir: str, primary: str | None = None) -> dict[str, str]:
    """Plain-Python body of ``vivek report``: reports for one run dir, with history.

    ``primary`` overrides the run's own primary metric (its ``meta.json``). The returned
    paths include ``changes``: what changed since the previous comparable run, one
    sentence per line, exactly as the webhook says it.
    """
    return _build(run_dir, primary)[0]


def _build(run_dir: str, primary: str | None) -> tuple[dict[str, str], list[RunEvent]]:
    from tasks.report.build import build_reports
    from tasks.run.events import load_facts, run_events, what_changed

    run_dir = run_dir.rstrip("/")
    out, run_id = run_dir.rsplit("/", 1) if "/" in run_dir else (".", run_dir)
    results = read_table(f"{run_dir}/results.parquet")
    meta = read_meta(run_dir)
    primary = check_metric(primary) if primary else recorded_metric(run_dir, meta)
    suite = results.column("suite")[0].as_py() if results.num_rows else ""
    prev = previous_comparable(out, suite, run_id, results, meta)
    prev_results = f"{prev}/results.parquet" if prev else None
    built = build_reports(run_dir, prev_results, primary=primary)
    names = {"markdown": "report_md", "html": "report_html"}
    paths = {names.get(k, k): v for k, v in built.items()}
    paths["results"] = f"{run_dir}/results.parquet"
    paths["run_id"] = run_id
    paths["primary_metric"] = primary
    events: list[RunEvent] = []
    cur = load_facts(run_dir, paths.get("report_html", ""))
    if cur is not None:
        events = run_events(cur, load_facts(prev) if prev else None, primary=primary)
    paths["changes"] = "\n".join(what_changed(events))
    add_to_index(
        out,
        {
            "run_id": run_id,
            "suite": suite,
            "models": sorted(set(results.column("model").to_pylist())),
            "rows": results.num_rows,
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
        },
    )
    mark_complete(run_dir)
    return paths, events


def leaderboard_rows(summary: Sequence[SummaryRow]) -> list[dict[str, str]]:
    """The report's leaderboard as a table artifact: its headers, each cell as Markdown
    (the Prefect UI renders table cells as Markdown)."""
    board = leaderboard(summary)
    return [dict(zip(board.headers, map(md, row), strict=True)) for row in board.rows]


def leaderboard_description(summary: Sequence[SummaryRow], changes: str, run_id: str) -> str:
    """The leaderboard artifact's description (Markdown): the decision, then what changed
    since the previous comparable run (the same words the terminal and webhook get)."""
    decision = next((r.decision for r in summary if r.decision), "")
    parts = (md(decision), md(changes.replace("\n", " ")), f"Run {md(run_id)}.")
    return " ".join(part for part in parts if part)


def _local(path: str) -> str:
    return os.path.abspath(path.removeprefix("file://"))


def _where(path: str) -> str:
    """A line a reader can act on: a URL opens; a local file is named with how to open it."""
    if "://" in path and not path.startswith("file://"):
        # Percent-encoded so that no character of the URL ends the link early.
        target = quote(path, safe=":/?#&=%@~+,;")
        return f"[{md(os.path.basename(path))}]({target})"
    return md_code(_local(path))


def files_markdown(run_dir: str, paths: dict[str, str]) -> str:
    """The ``vivek-files`` artifact: where each file of the run is, and how to open it."""
    names = {
        "report_html": "HTML report (self-contained, opens offline)",
        "report_md": "Markdown report",
        "results": "results (one row per model x task x sample)",
        "summary": "summary (one row per model)",
        "comparisons": "comparisons (one row per pair of models)",
    }
    lines = [f"# Files of run {md(os.path.basename(run_dir.rstrip('/')))}", ""]
    lines += [f"- {text}: {_where(paths[key])}" for key, text in names.items() if key in paths]
    files = [paths[k] for k in names if k in paths]
    local = not any("://" in f and not f.startswith("file://") for f in files)
    if local:
        lines += [
            "",
            "These files are on the machine that ran the flow; browsers do not open local "
            "files from this page. There, open the HTML report directly (for example "
            f"{md_code('xdg-open ' + _local(paths.get('report_html', run_dir)))}), or rebuild "
            f"the reports with {md_code('vivek report ' + _local(run_dir))}.",
        ]
    return "\n".join(lines)


async def publish_artifacts(run_dir: str, paths: dict[str, str]) -> None:
    """Leaderboard, report and the run's files, on the flow run that calls this.

    Plain function, not a task or subflow: artifacts then belong to the flow run a user
    opens (``vivek-evaluate``), under stable keys whose history spans nightly runs.
    """
    summary = SummaryRow.read(read_table(paths["summary"]))
    run_id = os.path.basename(run_dir.rstrip("/"))
    await acreate_table_artifact(
        table=leaderboard_rows(summary),
        key="vivek-leaderboard",
        description=leaderboard_description(summary, paths.get("changes", ""), run_id),
    )
    with fsspec.open(paths["report_md"], "r", encoding="utf-8") as fh:
        report = fh.read()
    await acreate_markdown_artifact(
        markdown=report, key="vivek-report", description=md_code(run_dir)
    )
    await acreate_markdown_artifact(
        markdown=files_markdown(run_dir, paths), key="vivek-files", description=md_code(run_dir)
    )


async def finish_run(run_dir: str, primary: Metric | None = None) -> dict[str, str]:
    """Summary, reports, artifacts and events for a run dir, in the calling flow run."""
    from tasks.run.events import emit_run_events

    paths, events = await asyncio.to_thread(_build, run_dir, primary)
    paths.setdefault("results", f"{run_dir.rstrip('/')}/results.parquet")
    await publish_artifacts(run_dir, paths)
    # Telling Prefect what the run found never fails the run.
    sent = emit_run_events(paths["run_id"], events)
    logger = get_run_logger()
    logger.info("events: %s (%d sent)", ", ".join(e.event for e in events), sent)
    logger.info("reports: %s", paths.get("report_html", paths.get("report_md")))
    return paths


@flow(name="vivek-aggregate")
async def aggregate(run_dir: str, primary: Metric | None = None) -> dict[str, str]:
    """Summarise a run directory and publish its artifacts (on this flow run)."""
    return await finish_run(run_dir, primary)


def compare_run_dirs(run_a: str, run_b: str, primary: str | None = None) -> str:
    """``vivek compare``: each model's change from run A to run B, headed by what differs."""
    from tasks.stats.runs import compare_run_dirs as compare

    return compare(run_a, run_b, primary)
