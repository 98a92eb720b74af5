"""Runs on disk: the index of every run under an output folder, and a run's own state.

Each run adds one small JSON file under ``OUT/.index/`` (concurrent runs never rewrite
each other's entries); an older ``OUT/index.jsonl`` is still read. A run's
``meta.json`` says ``"state": "complete"`` once its summary, reports and index entry
are written (``tasks.run.plan`` documents the order).
"""

from __future__ import annotations

import contextlib
import json
from typing import Any

import fsspec
import pyarrow as pa

from tasks.record.results import read_table, write_text
from tasks.stats.settings import read_meta, run_settings, settings_differences


def run_index_path(out: str) -> str:
    """The index of runs before one file per run (read, never written)."""
    return f"{out.rstrip('/')}/index.jsonl"


def run_index_dir(out: str) -> str:
    """One small JSON file per run: concurrent runs never rewrite each other's entries."""
    return f"{out.rstrip('/')}/.index"


def _entry(data: Any) -> dict[str, Any] | None:
    ok = isinstance(data, dict) and isinstance(data.get("run_id"), str)
    return data if ok else None


def read_index(out: str) -> list[dict[str, Any]]:
    """Every indexed run, sorted by run id: the per-run files, then the old index.jsonl."""
    fs, folder = fsspec.core.url_to_fs(run_index_dir(out))
    entries: dict[str, dict[str, Any]] = {}
    _, legacy = fsspec.core.url_to_fs(run_index_path(out))
    if fs.exists(legacy):
        with fs.open(legacy, "r", encoding="utf-8") as fh:
            for line in fh:
                with contextlib.suppress(ValueError):
                    if entry := _entry(json.loads(line)):
                        entries[entry["run_id"]] = entry
    for path in fs.glob(f"{folder}/*.json") if fs.exists(folder) else []:
        with contextlib.suppress(OSError, ValueError), fs.open(path, "r", encoding="utf-8") as fh:
            if entry := _entry(json.load(fh)):
                entries[entry["run_id"]] = entry
    return [entries[k] for k in sorted(entries)]


def earlier_runs(out: str, suite: str, run_id: str, limit: int = 20) -> list[dict[str, Any]]:
    """Indexed runs of the same suite before this one, newest first (at most ``limit``)."""
    earlier = [r for r in read_index(out) if r["suite"] == suite and r["run_id"] < run_id]
    return sorted(earlier, key=lambda r: r["run_id"], reverse=True)[:limit]


def previous_comparable(
    out: str, suite: str, run_id: str, results: pa.Table, meta: dict[str, Any]
) -> str | None:
    """Folder of the run to compare with: the latest comparable earlier run of the suite.

    Comparable means the same settings as far as both record them (suite digest, tasks,
    samples, options, limits, score weights, checker version). Without one, the latest
    earlier run of the suite, so the report can say how it differs (None: no earlier run).
    """
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
    meta = dict(read_meta(run_dir))
    meta["state"] = "complete"
    write_text(f"{run_dir}/meta.json", json.dumps(meta, indent=2, sort_keys=True))
