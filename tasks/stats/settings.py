"""Like with like: the settings a run records, and which of them two runs differ in.

A run's settings come from its results table (suite, checker version, requested
options, samples, task set) and, when given, its ``meta.json`` (suite digest,
task limit, options, sandbox limits, score weights). Two runs compare like with
like only when every setting both record is equal.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import fsspec
import pyarrow as pa
import pyarrow.compute as pc

# Settings read from the results table: name -> column (distinct values joined).
_FROM_RESULTS = {
    "suite": "suite",
    "checker version": "checker_version",
    "temperature": "temperature",
    "temperature sent": "temperature_sent",
    "max tokens": "max_tokens",
    "seed": "seed",
    "system prompt": "system_prompt",
}
# Settings read from meta.json: name -> key path.
_FROM_META = {
    "suite digest": ("suite_digest",),
    "samples": ("samples",),
    "task limit": ("task_limit",),
    "tasks": ("tasks",),
    "options": ("options",),
    "sandbox limits": ("sandbox", "limits"),
    "score weights": ("score_weights",),
    "checker version": ("checker_version",),
}


def _distinct(results: pa.Table, column: str) -> str | None:
    """The values a column records, joined; None when it records none. A null is a row
    where the setting was not used (a call that never went out), not a setting."""
    if column not in results.column_names or results.num_rows == 0:
        return None
    values = {str(v) for v in pc.unique(results[column]).to_pylist() if v is not None}
    return ", ".join(sorted(values)) if values else None


def _lookup(meta: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = meta
    for key in path:
        if not isinstance(value, Mapping) or key not in value:
            return None
        value = value[key]
    return value


def run_settings(results: pa.Table, meta: Mapping[str, Any] | None = None) -> dict[str, str]:
    """Every setting the run records, as text; settings it does not record are absent."""
    out: dict[str, str] = {}
    for name, column in _FROM_RESULTS.items():
        value = _distinct(results, column)
        if value is not None:
            out[name] = value
    if results.num_rows and "sample" in results.column_names:
        out["samples"] = str((pc.max(results["sample"]).as_py() or 0) + 1)
        out["tasks"] = str(pc.count_distinct(results["task_id"]).as_py())
    for name, path in _FROM_META.items():
        value = _lookup(meta or {}, path)
        if value is not None:
            out[name] = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return out


def settings_differences(prev: Mapping[str, str], cur: Mapping[str, str]) -> list[str]:
    """``"samples: 1 -> 5"`` for each setting both runs record and that differs."""
    out = []
    for name in sorted(set(prev) & set(cur)):
        if prev[name] != cur[name]:
            a, b = (v if len(v) <= 60 else v[:57] + "..." for v in (prev[name], cur[name]))
            out.append(f"{name}: {a} -> {b}")
    return out


def read_meta(run_dir_url: str) -> dict[str, Any]:
    """A run directory's meta.json, or {} when it has none (or it is not JSON)."""
    fs, path = fsspec.core.url_to_fs(f"{run_dir_url.rstrip('/')}/meta.json")
    try:
        with fs.open(path, "r", encoding="utf-8") as fh:
            data = json.load(fh)
    except (FileNotFoundError, json.JSONDecodeError, UnicodeDecodeError):
        return {}
    return data if isinstance(data, dict) else {}
