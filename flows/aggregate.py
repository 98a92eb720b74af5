"""The aggregate flow: results.parquet -> summary, comparisons, reports, Prefect artifacts.

Artifacts are Markdown in the Prefect UI: every name in them goes through
:func:`tasks.report.escape.md` (or ``md_code`` for a path).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import fsspec
from prefect import flow, get_run_logger
from prefect.artifacts import acreate_markdown_artifact, acreate_table_artifact

from tasks.record.results import read_table, write_text
from tasks.report.escape import md, md_code


def run_index_path(out: str) -> str:
    """The index of runs before one file per run (read, never written)."""
    return f"{out.rstrip('/')}/index.jsonl"


def run_index_dir(out: str) -> str:
    """One small JSON file per run: concurrent runs never rewrite each other's entries."""
    return f"{out.rstrip('/')}/.index"


def read_index(out: str) -> list[dict[str, Any]]:
    """Every indexed run, sorted by run id: the per-run files, then the old index.jsonl."""
    fs, folder = fsspec.core.url_to_fs(run_index_dir(out))
    entries: dict[str, dict[str, Any]] = {}
    _, legacy = fsspec.core.url_to_fs(run_index_path(out))
    if fs.exists(legacy):
        with fs.open(legacy, "r", encoding="utf-8") as fh:
            for line in fh:
                with contextlib.suppress(ValueError):
                    entry = json.loads(line)
                    if isinstance(entry, dict) and isinstance(entry.get("run_id"), str):
                        entries[entry["run_id"]] = entry
    for path in fs.glob(f"{folder}/*.json") if fs.exists(folder) else []:
        with contextlib.suppress(OSError, ValueError), fs.open(path, "r", encoding="utf-8") as fh:
            entry = json.load(fh)
            if isinstance(entry, dict) and isinstance(entry.get("run_id"), str):
                entries[entry["run_id"]] = entry
    return [entries[k] for k in sorted(entries)]


def earlier_runs(out: str, suite: str, run_id: str, limit: int = 20) -> list[dict[str, Any]]:
    """Indexed runs of the same suite before this one, newest first (at most ``limit``)."""
    earlier = [r for r in read_index(out) if r["suite"] == suite and r["run_id"] < run_id]
    return sorted(earlier, key=lambda r: r["run_id"], reverse=True)[:limit]


def previous_comparable(out: str, suite: str, run_id: str, results, meta) -> str | None:
    """Folder of the run to compare with: the latest comparable earlier run of the suite.

    Comparable means the same settings as far as both record them (suite digest, tasks,
    samples, options, limits, score weights, checker version). Without one, the latest
    earlier run of the suite, so the report can say how it differs (None: no earlier run).
    """
    from tasks.stats.runs import read_meta, run_settings, settings_differences

    mine = run_settings(results, meta)
    candidates = [f"{out}/{r['run_id']}" for r in earlier_runs(out, suite, run_id)]
    for folder in candidates:
        with contextlib.suppress(OSError, ValueError):
            theirs = run_settings(read_table(f"{folder}/results.parquet"), read_meta(folder))
            if not settings_differences(theirs, mine):
                return folder
    return candidates[0] if candidates else None


def add_to_index(out: str, entry: dict[str, Any]) -> None:
    """Write this run's entry as its own file (atomically: temp file, then rename)."""
    write_text(f"{run_index_dir(out)}/{entry['run_id']}.json", json.dumps(entry, sort_keys=True))


def mark_complete(run_dir: str) -> None:
    """Last write of a run: ``meta.json`` says ``"state": "complete"``."""
    fs, path = fsspec.core.url_to_fs(f"{run_dir}/meta.json")
    meta: dict[str, Any] = {}
    with contextlib.suppress(OSError, ValueError), fs.open(path, "r", encoding="utf-8") as fh:
        loaded = json.load(fh)
        meta = loaded if isinstance(loaded, dict) else {}
    meta["state"] = "complete"
    write_text(f"{run_dir}/meta.json", json.dumps(meta, indent=2, sort_keys=True))


def build_run_reports(run_dir: str, primary: str | None = None) -> dict[str, str]:
    """Plain-Python body of ``vivek report``: reports for one run dir, with history.

    ``primary`` overrides the run's own primary metric (its ``meta.json``). The returned
    paths include ``changes``: what changed since the previous comparable run, one
    sentence per line, exactly as the webhook says it.
    """
    return _build(run_dir, primary)[0]


def _build(run_dir: str, primary: str | None) -> tuple[dict[str, str], list]:
    from tasks.metrics import check_metric
    from tasks.report.build import build_reports
    from tasks.run.events import load_facts, run_events, what_changed
    from tasks.stats.runs import read_meta, recorded_metric

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
    events = []
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


def _ci(row: dict[str, Any], name: str) -> str:
    """``0.85 [0.79, 0.90]``; empty when the model was not evaluated."""
    value, low, high = row.get(name), row.get(f"{name}_ci_low"), row.get(f"{name}_ci_high")
    if value is None:
        return "not evaluated"
    if low is None or high is None:
        return f"{value:.2f}"
    return f"{value:.2f} [{low:.2f}, {high:.2f}]"


def _decision(row: dict[str, Any]) -> str:
    if row.get("is_winner"):
        return "winner"
    if row.get("decision_kind") == "single" and row.get("in_tie_group"):
        return "evaluated (nothing to compare)"
    return "tie group" if row.get("in_tie_group") else ""


def leaderboard_rows(summary: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The leaderboard as people read it: named columns, rounded values, 95% intervals."""
    rows = []
    for r in sorted(summary, key=lambda r: (r.get("rank") is None, r.get("rank") or 0)):
        cost = r.get("cost_usd")
        latency = r.get("latency_p50_s")
        plus = _ci(r, "pass_at_1_plus") if r.get("pass_at_1_plus") is not None else "n/a"
        rows.append(
            {
                "Rank": r.get("rank") if r.get("rank") is not None else "-",
                "Model": md(r.get("model")),
                "pass@1 [95% CI]": _ci(r, "pass_at_1"),
                "pass@1+ [95% CI]": plus if r.get("pass_at_1") is not None else "not evaluated",
                "Score [95% CI]": _ci(r, "overall_score"),
                "Tasks": r.get("n_tasks"),
                "Cost (USD)": "unknown" if cost is None else f"{cost:.4f}",
                "Latency p50 (s)": "" if latency is None else f"{latency:.2f}",
                "Decision": _decision(r),
                "Flaky": r.get("n_flaky") or 0,
                "Pareto": "yes" if r.get("on_pareto_front") else "",
            }
        )
    return rows


def leaderboard_description(summary: list[dict[str, Any]], changes: str, run_id: str) -> str:
    """The leaderboard artifact's description (Markdown): the decision, then what changed
    since the previous comparable run (the same words the terminal and webhook get)."""
    decision = next((r.get("decision") for r in summary if r.get("decision")), "")
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
    summary = read_table(paths["summary"]).to_pylist()
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


async def finish_run(run_dir: str, primary: str | None = None) -> dict[str, str]:
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
async def aggregate(run_dir: str, primary: str | None = None) -> dict[str, str]:
    """Summarise a run directory and publish its artifacts (on this flow run)."""
    return await finish_run(run_dir, primary)


def compare_run_dirs(run_a: str, run_b: str, primary: str | None = None) -> str:
    """``vivek compare``: each model's change from run A to run B, headed by what differs."""
    from tasks.stats.runs import compare_run_dirs as compare

    return compare(run_a, run_b, primary)
