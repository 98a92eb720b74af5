"""Suites in other benchmarks' JSONL formats: MBPP and EvalPlus (HumanEval+, MBPP+).

MBPP (google-research/mbpp): ``task_id``, ``text``, ``code``, ``test_list`` (assert
statements), ``test_setup_code``, optional ``challenge_test_list`` (not run, as in
the paper's protocol); its sanitized release names the description ``prompt`` and
lists ``test_imports`` instead of ``test_setup_code``. Each assert becomes one test;
setup and imports become the task's ``preamble``, run before the solution in its own
namespace as MBPP's harness does. A record whose task cannot be understood (code
that does not parse, asserts that call nothing the reference defines) becomes a
Task whose ``broken`` says why; only a line that is no MBPP record refuses the file.

EvalPlus: ``task_id``, ``prompt``, ``entry_point``, ``canonical_solution``,
``base_input``, ``plus_input``, ``atol``. The base inputs are the visible tests, whose
expected outputs the canonical solution gives in its own sandbox run
(``tasks.suites.evalplus``); the plus inputs are declared as the task's extra inputs
(``EXTRA_INPUTS``), compared with the canonical solution within ``atol`` by the
differential check.

A malformed line raises SuiteError naming the file, the line and the field (for
MBPP, only a line that is not an MBPP record at all).
"""

from __future__ import annotations

import ast
import builtins
import gzip
import json
import math
import os
import re
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tasks.errors import SuiteError
from tasks.record.types import Suite, Task
from tasks.suites import evalplus

EVALPLUS_NAMES = {"humaneval+": "HumanEvalPlus", "mbpp+": "MbppPlus"}
# Bounds on any suite file (issue 20): its decompressed size, one JSONL line's length,
# and how deep a line may nest. EvalPlus's largest published lines are a few MB and
# nest a few levels; these leave room and stop hostile files before they cost memory
# or end the run with a RecursionError.
MAX_SUITE_BYTES = 256 * 2**20
MAX_LINE_CHARS = 32 * 2**20
MAX_JSON_DEPTH = 64


def evalplus_cache() -> Path:
    """EvalPlus's download folder (``~/.cache/evalplus``, or under ``$XDG_CACHE_HOME``)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "evalplus"


def evalplus_file(name: str) -> Path:
    """The newest cached EvalPlus release for ``humaneval+`` or ``mbpp+`` (not Mini variants)."""
    stem = EVALPLUS_NAMES[name]
    folder = evalplus_cache()
    pattern = re.compile(rf"{stem}-v(\d+(?:\.\d+)*)\.jsonl(?:\.gz)?")
    found = []
    for path in folder.glob(f"{stem}-v*") if folder.is_dir() else []:
        match = pattern.fullmatch(path.name)
        if match:
            found.append((tuple(int(x) for x in match.group(1).split(".")), path))
    if not found:
        raise SuiteError(
            f"Suite {name!r} needs EvalPlus's {stem}-v*.jsonl in {folder} "
            f"(run `python -c 'import evalplus.data as d; d.get_{_getter(name)}()'` once, "
            "or pass the file's path to --suite)."
        )
    return max(found)[1]


def _getter(name: str) -> str:
    return "human_eval_plus" if name == "humaneval+" else "mbpp_plus"


def detect_format(first: dict[str, Any]) -> str | None:
    """``mbpp``, ``mbpp-sanitized``, ``evalplus`` or None (Vivek's own format) from a record."""
    if "test_list" in first and "text" in first:
        return "mbpp"
    if "test_list" in first and "prompt" in first and "code" in first:
        return "mbpp-sanitized"
    if "base_input" in first and "canonical_solution" in first:
        return "evalplus"
    return None


def mbpp_suite(path: Path, records: list[tuple[int, Any]], sanitized: bool = False) -> Suite:
    """MBPP records (line number, parsed JSON) as a Suite, original or sanitized release."""
    tasks = tuple(_mbpp_task(path, n, r, sanitized) for n, r in records)
    return Suite(name=_name(path), tasks=tasks, source=str(path))


def evalplus_suite(path: Path, records: list[tuple[int, Any]]) -> Suite:
    """EvalPlus records (line number, parsed JSON) as a Suite."""
    return Suite(
        name=_name(path),
        tasks=tuple(_evalplus_task(path, n, r) for n, r in records),
        source=str(path),
    )


def _name(path: Path) -> str:
    return path.name.split(".jsonl")[0]


class _Fields:
    """Typed access to one record, raising SuiteError that names the file, line and field."""

    def __init__(self, path: Path, lineno: int, record: Any):
        self.where = f"{path}: line {lineno}"
        if not isinstance(record, dict):
            raise SuiteError(f"{self.where} must be a JSON object.")
        self.record = record

    def fail(self, field: str, what: str) -> SuiteError:
        return SuiteError(f"{self.where}: field {field!r} {what}.")

    def get(self, field: str, kind: type | tuple[type, ...], default: Any = ...) -> Any:
        if field not in self.record:
            if default is not ...:
                return default
            raise self.fail(field, "is missing")
        value = self.record[field]
        if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
            names = (
                kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
            )
            raise self.fail(field, f"must be of type {names}")
        return value

    def strings(self, field: str, default: Any = ...) -> list[str]:
        value = self.get(field, list, default)
        if not all(isinstance(v, str) for v in value):
            raise self.fail(field, "must be a list of strings")
        return value

    def code(self, field: str, text: str) -> str:
        try:
            ast.parse(text)
        except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
            raise self.fail(field, f"is not valid Python ({getattr(exc, 'msg', exc)})") from exc
        return text


# -- MBPP ------------------------------------------------------------------------------


def _mbpp_task(path: Path, lineno: int, record: Any, sanitized: bool) -> Task:
    """One MBPP record; a record whose task cannot be understood is a broken Task."""
    f = _Fields(path, lineno, record)
    task_id = f.get("task_id", (int, str))
    try:
        return _mbpp_record(f, f"mbpp/{task_id}", sanitized)
    except SuiteError as exc:
        # One odd task must not cost the whole benchmark: its rows say why.
        text = next((v for k in ("text", "prompt") if isinstance(v := record.get(k), str)), "")
        return Task(id=f"mbpp/{task_id}", prompt=text, tests="", tags=("mbpp",), broken=str(exc))


def _mbpp_record(f: _Fields, task_id: str, sanitized: bool) -> Task:
    # The sanitized release renamed ``text`` to ``prompt`` and ``test_setup_code`` to a
    # list ``test_imports``; a record may use either spelling.
    if "text" in f.record or ("prompt" not in f.record and not sanitized):
        text = f.get("text", str)
    else:
        text = f.get("prompt", str)
    code = f.code("code", f.get("code", str))
    asserts = f.strings("test_list")
    if not asserts:
        raise f.fail("test_list", "must hold at least one assert")
    setup = f.code("test_setup_code", f.get("test_setup_code", str, ""))
    imports = f.strings("test_imports", [])
    for i, line in enumerate(imports):
        f.code(f"test_imports[{i}]", line)
    f.strings("challenge_test_list", [])
    for i, line in enumerate(asserts):
        f.code(f"test_list[{i}]", line)
    entry = _called_function(code, asserts)
    if entry is None:
        raise f.fail("test_list", "calls no function that field 'code' defines")
    # MBPP's harness executes setup, test imports, solution and asserts in one
    # namespace: the solution's program gets the same preamble (see ``assemble``).
    preamble = "".join(part.strip() + "\n" for part in (setup, *imports) if part.strip())
    tests = preamble + f"from solution import *\nfrom solution import {entry}\n"
    for i, line in enumerate(asserts):
        tests += f"\n\ndef test_{i}():\n    {line.strip()}\n"
    prompt = (
        f"You are an expert Python programmer, and here is your task: {text.strip()} "
        "Your code should pass these tests:\n\n" + "\n".join(asserts) + "\n"
    )
    return Task(
        id=task_id,
        prompt=prompt,
        tests=tests,
        reference=code,
        tags=("mbpp",),
        entry_point=entry,
        preamble=preamble,
    )


def _called_function(code: str, asserts: list[str]) -> str | None:
    """The function the asserts test: one they call that the reference defines.

    A name that is not a builtin wins (``max(twice(2))`` tests ``twice``); otherwise a
    builtin name the reference redefines is the one tested (a reference defining
    ``sum`` is tested through ``sum``).
    """
    defined = {
        n.name for n in ast.parse(code).body if isinstance(n, ast.FunctionDef | ast.ClassDef)
    }
    called = [
        node.func.id
        for line in asserts
        for node in ast.walk(ast.parse(line))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
    ]
    candidates = [name for name in called if name in defined]
    plain = [name for name in candidates if not hasattr(builtins, name)]
    return next(iter(plain or candidates), None)


# -- EvalPlus --------------------------------------------------------------------------


def _evalplus_task(path: Path, lineno: int, record: Any) -> Task:
    f = _Fields(path, lineno, record)
    task_id = f.get("task_id", str)
    prompt = f.get("prompt", str)
    entry = f.get("entry_point", str)
    if not entry.isidentifier():
        raise f.fail("entry_point", "must be a Python identifier")
    canonical = f.get("canonical_solution", str)
    reference = f.code("canonical_solution", prompt + canonical)
    base = f.get("base_input", list)
    plus = f.get("plus_input", list, [])
    atol = f.get("atol", (int, float), 0)
    for field, inputs in (("base_input", base), ("plus_input", plus)):
        if not all(isinstance(args, list) for args in inputs):
            raise f.fail(field, "must be a list of argument lists")
    if not base:
        raise f.fail("base_input", "must hold at least one input")
    if not (isinstance(atol, int | float) and atol >= 0 and math.isfinite(atol)):
        raise f.fail("atol", "must be a non-negative number")
    defines = any(
        isinstance(n, ast.FunctionDef) and n.name == entry for n in ast.parse(reference).body
    )
    if not defines:
        raise f.fail("entry_point", "names no function that the canonical solution defines")
    prompt_is_code = f"def {entry}(" in prompt
    return Task(
        id=task_id,
        prompt=prompt,
        tests=evalplus.tests_template(entry, base, plus, float(atol)),
        reference=reference,
        tags=("evalplus",),
        entry_point=entry,
        prompt_is_code=prompt_is_code,
        base_calls=evalplus.base_calls(entry, base),
    )


def read_suite_text(path: Path) -> str:
    """A suite file's text (``.gz`` decompressed), refused past ``MAX_SUITE_BYTES``."""
    too_big = SuiteError(f"{path}: the suite file is larger than {MAX_SUITE_BYTES:,} bytes.")
    try:
        if path.name.endswith(".gz"):
            with gzip.open(path, "rb") as fh:
                data = fh.read(MAX_SUITE_BYTES + 1)  # a gzip bomb stops here
        else:
            if path.stat().st_size > MAX_SUITE_BYTES:
                raise too_big
            data = path.read_bytes()
        if len(data) > MAX_SUITE_BYTES:
            raise too_big
        return data.decode("utf-8")
    except (OSError, UnicodeDecodeError, EOFError, zlib.error) as exc:
        reason = " ".join(str(exc).split())
        raise SuiteError(f"{path}: cannot read the suite file ({reason}).") from exc


def iter_records(path: Path, text: str) -> Iterator[tuple[int, Any]]:
    """(line number, parsed JSON) for each non-blank line; SuiteError on a bad line.

    A line is refused before parsing when it is longer than ``MAX_LINE_CHARS`` or
    nested deeper than ``MAX_JSON_DEPTH`` (json's recursion would otherwise end the run
    with a RecursionError on a hostile line).
    """
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        where = f"{path}: line {lineno}"
        if len(line) > MAX_LINE_CHARS:
            raise SuiteError(f"{where} is longer than {MAX_LINE_CHARS:,} characters.")
        if _json_depth(line) > MAX_JSON_DEPTH:
            raise SuiteError(f"{where} is nested deeper than {MAX_JSON_DEPTH} levels.")
        try:
            yield lineno, json.loads(line)
        except json.JSONDecodeError as exc:
            raise SuiteError(f"{where} is not valid JSON ({exc.msg}).") from exc
        except RecursionError as exc:  # not reached below the depth limit; kept as a net
            raise SuiteError(f"{where} is nested too deeply to parse.") from exc


_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_BRACKET = re.compile(r"[\[\]{}]")


def _json_depth(line: str) -> int:
    """How deep a JSON text nests arrays and objects (brackets in strings do not count)."""
    if line.count("[") + line.count("{") <= MAX_JSON_DEPTH:
        return 0  # cannot be deeper than its number of openers
    depth = deepest = 0
    for match in _BRACKET.finditer(_JSON_STRING.sub("", line)):
        if match.group() in "[{":
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > MAX_JSON_DEPTH:
                    break
        else:
            depth -= 1
    return deepest
