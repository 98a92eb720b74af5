"""Load prompt suites: built-in names (``basic``, ``humaneval``), EvalPlus's cached
``humaneval+``/``mbpp+``, or paths to YAML/JSONL files (Vivek's own format, MBPP's or
EvalPlus's JSONL, recognised by their fields; ``.jsonl.gz`` too).

A malformed suite raises SuiteError naming the file, the task (or line) and the field.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from tasks.errors import SuiteError
from tasks.record.types import Suite, Task
from tasks.suites.formats import (
    EVALPLUS_NAMES,
    detect_format,
    evalplus_file,
    evalplus_suite,
    iter_records,
    mbpp_suite,
    read_suite_text,
)
from tasks.suites.humaneval import load_humaneval

# Built-in suites: inside the installed package (the wheel maps data/suites there), or
# the repository's data/suites when running from a checkout.
_PACKAGED = Path(__file__).resolve().parents[1] / "builtin_suites"
SUITES_DIR = (
    _PACKAGED if _PACKAGED.is_dir() else Path(__file__).resolve().parents[2] / "data" / "suites"
)
BUILTIN = ("basic", "humaneval", *EVALPLUS_NAMES)


def load_suite(name_or_path: str, *, limit: int | None = None) -> Suite:
    """Resolve ``--suite``: a built-in name, or a path to a .yaml/.yml/.jsonl file."""
    if name_or_path == "humaneval":
        suite = load_humaneval()
    elif name_or_path in EVALPLUS_NAMES:
        suite = load_suite_file(evalplus_file(name_or_path))
    else:
        path = Path(name_or_path)
        if not path.suffix and (SUITES_DIR / f"{name_or_path}.yaml").exists():
            path = SUITES_DIR / f"{name_or_path}.yaml"
        if not path.exists():
            raise SuiteError(
                f"Suite {name_or_path!r} is neither a built-in suite "
                f"({', '.join(BUILTIN)}) nor an existing file."
            )
        suite = load_suite_file(path)
    if limit is not None:
        suite = Suite(suite.name, suite.tasks[:limit], suite.source)
    return suite


def load_suite_file(path: Path) -> Suite:
    text = read_suite_text(path)
    if path.name.endswith((".jsonl", ".jsonl.gz")):
        records = list(iter_records(path, text))
        kind = detect_format(records[0][1]) if records and isinstance(records[0][1], dict) else None
        if kind in ("mbpp", "mbpp-sanitized"):
            return _unique_ids(path, mbpp_suite(path, records, kind == "mbpp-sanitized"))
        if kind == "evalplus":
            return _unique_ids(path, evalplus_suite(path, records))
    if path.suffix in (".yaml", ".yml"):
        try:
            doc = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise SuiteError(f"{path}: not valid YAML ({_one_line(exc)}).") from exc
        except RecursionError as exc:  # PyYAML recurses once per nesting level
            raise SuiteError(f"{path}: the YAML is nested too deeply to parse.") from exc
        if not isinstance(doc, dict):
            raise SuiteError(f"{path}: a suite must be a mapping with 'name' and 'tasks'.")
        name = doc.get("name")
        if not isinstance(name, str) or not name.strip():
            raise SuiteError(f"{path}: field 'name' must be a non-empty string.")
        raw = doc.get("tasks")
        if not isinstance(raw, list) or not raw:
            raise SuiteError(f"{path}: field 'tasks' must be a non-empty list.")
    elif path.name.endswith((".jsonl", ".jsonl.gz")):
        name, raw = path.name.split(".jsonl")[0], [r for _, r in records]
        if not raw:
            raise SuiteError(f"{path}: the suite has no tasks.")
    else:
        raise SuiteError(f"{path}: a suite file must end in .yaml, .yml, .jsonl or .jsonl.gz.")
    tasks = [_task(path, i, item) for i, item in enumerate(raw)]
    return _unique_ids(path, Suite(name=name, tasks=tuple(tasks), source=str(path)))


def _unique_ids(path: Path, suite: Suite) -> Suite:
    seen: set[str] = set()
    for task in suite.tasks:
        if task.id in seen:
            raise SuiteError(f"{path}: task {task.id!r} appears twice (field 'id').")
        seen.add(task.id)
    return suite


def _task(path: Path, index: int, item: Any) -> Task:
    where = f"{path}: task #{index + 1}"
    if not isinstance(item, dict):
        raise SuiteError(f"{where} must be a mapping.")
    task_id = item.get("id")
    if not isinstance(task_id, str) or not task_id.strip():
        raise SuiteError(f"{where}: field 'id' must be a non-empty string.")
    where = f"{path}: task {task_id!r}"
    unknown = set(item) - {"id", "prompt", "tests", "reference", "tags", "entry_point"}
    if unknown:
        raise SuiteError(f"{where}: unknown field {sorted(unknown)[0]!r}.")
    for field in ("prompt", "tests"):
        if not isinstance(item.get(field), str) or not item[field].strip():
            raise SuiteError(f"{where}: field {field!r} must be a non-empty string.")
    if "test_" not in item["tests"]:
        raise SuiteError(f"{where}: field 'tests' defines no test_* function.")
    try:
        compile(item["tests"], f"{task_id}/tests", "exec")
    except SyntaxError as exc:
        raise SuiteError(f"{where}: field 'tests' is not valid Python ({exc.msg}).") from exc
    except (ValueError, RecursionError, MemoryError) as exc:
        reason = _one_line(exc) or exc.__class__.__name__
        raise SuiteError(f"{where}: field 'tests' is not valid Python ({reason}).") from exc
    reference = item.get("reference")
    if reference is not None and not isinstance(reference, str):
        raise SuiteError(f"{where}: field 'reference' must be a string.")
    tags = item.get("tags", [])
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise SuiteError(f"{where}: field 'tags' must be a list of strings.")
    entry = item.get("entry_point")
    if entry is not None and not isinstance(entry, str):
        raise SuiteError(f"{where}: field 'entry_point' must be a string.")
    return Task(
        id=task_id,
        prompt=item["prompt"],
        tests=item["tests"],
        reference=reference,
        tags=tuple(tags),
        entry_point=entry,
    )


def _one_line(exc: Exception) -> str:
    return " ".join(str(exc).split())
