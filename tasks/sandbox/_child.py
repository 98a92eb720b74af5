"""The sample child (forked by ``_worker.py``): runs the tests against ``solution.py``.

Imports nothing from ``tasks``: it is bound read-only into the sandbox. The harness is a
minimal pytest-compatible runner. It reports over a dedicated pipe (fd 3), one line per
frame, each prefixed with the per-sample nonce; the host decides the verdict.

The nonce and the private pipe stop accidental and naive forgery (prints, atexit hooks,
early exits, patched builtins or pytest); code that deliberately walks the harness's
frames to find the nonce could still forge frames. The sandbox contains such code; its
verdict is best effort.
"""

from __future__ import annotations

import ast
import contextlib
import json
import os
import sys
import traceback

from _guards import confine, snapshot, tampered
from _pytest.mark.structures import ParameterSet
from _pytest.outcomes import OutcomeException
from coverage.parser import PythonParser

SOLUTION = "solution.py"
TESTS = "test_solution.py"


def run(job: dict, workdir: str, uid, cov, exclude: str, fds: tuple) -> None:  # pragma: no cover
    """Confine this (forked) process, then run the harness; never returns."""
    try:
        vfd = confine(job["limits"], workdir, uid, *fds)
        _harness(job, workdir, cov if job["measure_coverage"] else None, exclude, vfd)
    finally:
        os._exit(70)


def collect_names(tree: ast.Module) -> list[str]:
    """Test ids pytest would collect from the test source itself (last definition wins)."""
    names: dict[str, None] = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name.startswith("test"):
            names[node.name] = None
        elif isinstance(node, ast.ClassDef) and node.name.startswith("Test"):
            for item in node.body:
                if isinstance(item, ast.FunctionDef) and item.name.startswith("test"):
                    names[f"{node.name}::{item.name}"] = None
    return list(names)


def parse_statements(code: str, exclude: str) -> PythonParser:
    """coverage.py's parser over ``code``: its ``statements`` are the executable lines."""
    parser = PythonParser(text=code or "\n", exclude=exclude)  # it refuses ""
    parser.parse_source()
    return parser


def coverage_share(parser: PythonParser, executed: set[int]) -> float | None:
    """Share of statements executed, as ``Coverage.analysis2`` would count it."""
    wanted = parser.statements
    return len(parser.translate_lines(executed) & wanted) / len(wanted) if wanted else None


def executed_lines(cov) -> set[int]:
    """Lines the tracer saw; only ``solution.py`` is traced (``include``).

    Reads the collector's raw data: ``get_data()`` would copy it into SQLite first
    (~4 ms per sample).
    """
    data = getattr(getattr(cov, "_collector", None), "data", None)
    if not isinstance(data, dict):  # another coverage.py: the public, slower path
        data = cov.get_data()
        return set().union(*(data.lines(f) or () for f in data.measured_files()))
    return set().union(*data.values())


def _cases(fn) -> list[dict]:
    cases: list[dict] = [{}]
    for mark in getattr(fn, "pytestmark", None) or []:
        if getattr(mark, "name", "") != "parametrize":
            continue
        argnames, argvalues = mark.args[0], mark.args[1]
        if isinstance(argnames, str):
            argnames = [n.strip() for n in argnames.split(",") if n.strip()]
        expanded = []
        for value in argvalues:
            if isinstance(value, ParameterSet):
                value = value.values
            elif len(argnames) == 1:
                value = (value,)
            expanded += [{**case, **dict(zip(argnames, value, strict=True))} for case in cases]
        cases = expanded
    return cases


def _describe(exc: BaseException, test_path: str, lines: list[str]) -> str:
    try:
        where = ""
        for frame in reversed(traceback.extract_tb(exc.__traceback__)):
            if frame.filename == test_path and frame.lineno:
                src = lines[frame.lineno - 1].strip() if frame.lineno <= len(lines) else ""
                where = f" at line {frame.lineno}: {src}"
                break
        text = str(exc)
        return f"{type(exc).__name__}{where}{': ' + text if text else ''}"[:300]
    except BaseException:
        return "unprintable exception"


def _harness(job: dict, workdir: str, cov, exclude: str, vfd: int):  # pragma: no cover
    nonce, dumps, write, exit_ = job["nonce"], json.dumps, os.write, os._exit
    assertion, outcome, memory = AssertionError, OutcomeException, MemoryError
    test_path = os.path.join(workdir, TESTS)
    stdout, stderr = sys.stdout, sys.stderr

    def emit(kind: str, **fields) -> None:
        fields["kind"] = kind
        data = (nonce + " " + dumps(fields) + "\n").encode()
        while data:
            data = data[write(vfd, data) :]

    def finish() -> None:
        for stream in (stdout, stderr):
            with contextlib.suppress(BaseException):
                stream.flush()
        exit_(0)

    source = job["tests"]
    try:
        # compile() straight from source skips building Python AST objects; the host
        # sends the test names it counted itself.
        code = job.get("tests_code") or compile(source, test_path, "exec", dont_inherit=True)
        names = job.get("names")
        if names is None:
            names = collect_names(ast.parse(source, test_path))
    except (SyntaxError, ValueError) as exc:
        emit("collect", ok=False, error=f"test source does not parse: {exc}"[:300])
        finish()
    lines = source.splitlines()
    parser, why = None, ""
    if cov is not None:  # parsed before untrusted code runs, from the text we were sent
        try:
            parser = parse_statements(job["code"], exclude)
        except BaseException as exc:
            why = _describe(exc, "", [])
    del job["nonce"], job["code"]
    if cov is not None:
        cov.start()
    before = snapshot()
    try:
        solution = __import__("solution")
    except BaseException as exc:
        emit("import", ok=False, oom=isinstance(exc, memory), error=_describe(exc, "", []))
        finish()
    emit("import", ok=True)
    if reason := tampered(before):
        emit("tamper", reason=reason)
        finish()
    module = type(sys)("test_solution")
    module.__file__ = test_path
    sys.modules["test_solution"] = module
    try:
        exec(code, module.__dict__)
    except BaseException as exc:
        emit("collect", ok=False, error="collecting tests: " + _describe(exc, test_path, lines))
        finish()
    emit("collect", ok=True, names=names)
    for name in names:
        cls_name, _, fn_name = name.rpartition("::")
        counts = {"cases": 0, "passed": 0, "failed": 0, "errored": 0, "oom": 0}
        message = ""
        try:
            owner = getattr(module, cls_name)() if cls_name else module
            fn = getattr(owner, fn_name)
            cases = _cases(fn)
        except BaseException as exc:
            cases, message = [], _describe(exc, test_path, lines)
            counts["cases"] = counts["errored"] = 1
        for kwargs in cases:
            counts["cases"] += 1
            try:
                if hasattr(owner, "setup_method"):
                    owner.setup_method(fn)
                fn(**kwargs)
                counts["passed"] += 1
                continue
            except assertion as exc:
                kind, exc_ = "failed", exc
            except outcome as exc:
                kind, exc_ = "failed", exc
            except memory as exc:
                kind, exc_ = "oom", exc
            except BaseException as exc:
                kind, exc_ = "errored", exc
            counts[kind] += 1
            if not message:
                message = _describe(exc_, test_path, lines)
        emit("test", name=name, message=message, **counts)
    if reason := tampered(before):
        emit("tamper", reason=reason)
        finish()
    if cov is not None:
        cov.stop()
        try:
            value = coverage_share(parser, executed_lines(cov)) if parser else None
            emit("coverage", value=value, **({"error": why} if why else {}))
        except BaseException as exc:
            emit("coverage", value=None, error=_describe(exc, "", []))
    outputs = []
    for expr in job["extra_calls"]:
        try:
            outputs.append(repr(eval(expr, vars(solution)))[:2000])
        except BaseException as exc:
            outputs.append("!" + type(exc).__name__)
    emit("extra", outputs=outputs)
    emit("done")
    finish()
