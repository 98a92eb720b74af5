"""The aggregate flow: results.parquet -> summary, comparisons, reports, Prefect artifacts."""

from __future__ import annotations

import contextlib
import json
import os
from datetime import UTC, datetime
from typing import Any

import fsspec
from prefect import flow, get_run_logger, task
from prefect.artifacts import create_link_artifact, create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE

from tasks.results import read_table, write_text

LEADERBOARD_COLUMNS = (
    "rank", "model", "n_tasks", "n_samples", "pass_at_1", "pass_at_1_ci_low",
    "pass_at_1_ci_high", "overall_score", "overall_score_ci_low", "overall_score_ci_high",
    "cost_usd", "price_unknown", "latency_p50_s", "is_winner", "in_tie_group", "on_pareto_front",
)  # fmt: skip


def _url(path: str) -> str:
    return path if "://" in path else "file://" + os.path.abspath(path)


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


def previous_run(out: str, suite: str, run_id: str) -> dict[str, Any] | None:
    """The latest indexed run of the same suite before this one."""
    earlier = [r for r in read_index(out) if r["suite"] == suite and r["run_id"] < run_id]
    return max(earlier, key=lambda r: r["run_id"]) if earlier else None


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


def build_run_reports(run_dir: str, primary: str = "pass@1") -> dict[str, Any]:
    """Plain-Python body: reports for one run dir, with history from the run index."""
    from tasks.report.build import build_reports

    run_dir = run_dir.rstrip("/")
    out, run_id = run_dir.rsplit("/", 1) if "/" in run_dir else (".", run_dir)
    results = read_table(f"{run_dir}/results.parquet")
    suite = results.column("suite")[0].as_py() if results.num_rows else ""
    prev = previous_run(out, suite, run_id)
    prev_results = f"{out}/{prev['run_id']}/results.parquet" if prev else None
    built = build_reports(run_dir, prev_results, primary=primary)
    names = {"markdown": "report_md", "html": "report_html"}
    paths = {names.get(k, k): v for k, v in built.items()}
    paths["results"] = f"{run_dir}/results.parquet"
    paths["run_id"] = run_id
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
    return paths


@task(name="publish-artifacts", cache_policy=NO_CACHE)
def publish_artifacts(run_dir: str, paths: dict[str, str]) -> None:
    """Leaderboard table, report markdown and links to the files, in the Prefect UI."""
    summary = read_table(paths["summary"]).to_pylist()
    rows = [{k: r.get(k) for k in LEADERBOARD_COLUMNS if k in r} for r in summary]
    create_table_artifact(
        table=rows, key="vivek-leaderboard", description=f"Leaderboard of {run_dir}"
    )
    with fsspec.open(paths["report_md"], "r", encoding="utf-8") as fh:
        create_markdown_artifact(markdown=fh.read(), key="vivek-report", description=run_dir)
    for name in ("report_html", "results", "summary", "comparisons"):
        if name in paths:
            create_link_artifact(
                link=_url(paths[name]),
                link_text=os.path.basename(paths[name]),
                key=f"vivek-{name.replace('_', '-')}",
                description=f"{name} of {run_dir}",
            )


def emit_events(run_dir: str, paths: dict[str, str], primary: str) -> None:
    """Tell Prefect what the run found (see tasks/events.py); never fails the run."""
    from tasks.events import emit_run_events, load_facts, run_events

    run_dir = run_dir.rstrip("/")
    out, run_id = run_dir.rsplit("/", 1) if "/" in run_dir else (".", run_dir)
    cur = load_facts(run_dir, paths.get("report_html", ""))
    if cur is None:
        return
    suite = cur.results.column("suite")[0].as_py() if cur.results.num_rows else ""
    prev_entry = previous_run(out, suite, run_id)
    prev = load_facts(f"{out}/{prev_entry['run_id']}") if prev_entry else None
    events = run_events(cur, prev, primary=primary)
    sent = emit_run_events(run_id, events)
    get_run_logger().info("events: %s (%d sent)", ", ".join(e.event for e in events), sent)


@flow(name="vivek-aggregate")
async def aggregate(run_dir: str, primary: str = "pass@1") -> dict[str, str]:
    """Summarise a run directory and publish its artifacts."""
    paths = build_run_reports(run_dir, primary)
    paths.setdefault("results", f"{run_dir.rstrip('/')}/results.parquet")
    publish_artifacts(run_dir, paths)
    emit_events(run_dir, paths, primary)
    get_run_logger().info("reports: %s", paths.get("report_html", paths.get("report_md")))
    return paths


def compare_run_dirs(run_a: str, run_b: str, primary: str = "pass@1") -> str:
    """``vivek compare``: each model's change from run A to run B, headed by what differs."""
    from tasks.stats.runs import compare_run_dirs as compare

    return compare(run_a, run_b, primary)
