"""Build every report file of a run directory; this is what ``vivek report RUN_DIR`` calls."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import fsspec
import pyarrow as pa
import pyarrow.compute as pc

from tasks.metrics import Metric
from tasks.record.results import read_table, write_table, write_text
from tasks.record.upgrade import upgrade_results
from tasks.report.html import render_html
from tasks.report.inputs import ReportInputs
from tasks.report.markdown import render_markdown
from tasks.stats.history import compare_runs
from tasks.stats.settings import read_meta
from tasks.stats.summary import summarize


def _distinct(results: pa.Table, column: str) -> list[str]:
    if column not in results.column_names:
        return []
    return sorted(str(v) for v in pc.unique(results[column]).to_pylist() if v)


def run_meta(results: pa.Table, **extra: Any) -> dict[str, Any]:
    """Facts about a run read from its results table; ``extra`` adds or overrides keys."""
    run_ids = _distinct(results, "run_id")
    sandboxes = _distinct(results, "sandbox")
    stamps = _distinct(results, "timestamp")
    meta: dict[str, Any] = {
        "run_id": ",".join(run_ids) or "unknown",
        "suite": ",".join(_distinct(results, "suite")) or "unknown",
        "models": _distinct(results, "model"),
        "created": stamps[0] if stamps else "unknown",
        "rows": results.num_rows,
        "checker_version": ",".join(_distinct(results, "checker_version")) or "unknown",
        "report_generated": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    if sandboxes:
        try:
            meta["sandbox"] = json.loads(sandboxes[0]) if len(sandboxes) == 1 else sandboxes
        except json.JSONDecodeError:
            meta["sandbox"] = sandboxes[0]
    meta.update(extra)
    return meta


def _read_json(url: str) -> dict[str, Any]:
    fs, path = fsspec.core.url_to_fs(url)
    if not fs.exists(path):
        return {}
    with fs.open(path, "r", encoding="utf-8") as fh:
        data = json.load(fh)
    return data if isinstance(data, dict) else {}


def build_reports(
    run_dir_url: str,
    history_prev_results_url: str | None = None,
    *,
    primary: Metric = "pass@1",
    seed: int = 0,
    n_boot: int = 2000,
    meta: Mapping[str, Any] | None = None,
) -> dict[str, str]:
    """Read ``results.parquet`` from a run directory and write the reports next to it.

    Writes ``summary.parquet``, ``comparisons.parquet``, ``report.md`` and
    ``report.html`` (and ``history.parquet`` with a previous run), each atomically.
    A ``meta.json`` in the run directory and then ``meta`` add to the run facts.

    Returns:
        Name -> URL of every file written: summary, comparisons, markdown, html (, history).
    """
    base = run_dir_url.rstrip("/")
    # Results of any Vivek version read with today's meanings (null = not measured).
    results = upgrade_results(read_table(f"{base}/results.parquet"))
    own_meta = {**_read_json(f"{base}/meta.json"), **dict(meta or {})}
    facts = run_meta(results, **own_meta)
    result = summarize(results, primary=primary, seed=seed, n_boot=n_boot)
    history = None
    paths = {
        "summary": f"{base}/summary.parquet",
        "comparisons": f"{base}/comparisons.parquet",
        "markdown": f"{base}/report.md",
        "html": f"{base}/report.html",
    }
    if history_prev_results_url:
        prev = read_table(history_prev_results_url)
        prev_meta = read_meta(history_prev_results_url.rsplit("/", 1)[0])
        history = compare_runs(
            prev,
            results,
            primary=primary,
            seed=seed,
            n_boot=n_boot,
            prev_meta=prev_meta,
            cur_meta=own_meta,
        )
        paths["history"] = f"{base}/history.parquet"
        write_table(history, paths["history"])
    write_table(result.summary, paths["summary"])
    write_table(result.comparisons, paths["comparisons"])
    report = ReportInputs(result.summary, result.comparisons, facts, history)
    write_text(paths["markdown"], render_markdown(report))
    write_text(paths["html"], render_html(results, report))
    return paths
