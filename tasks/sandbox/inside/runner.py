"""A minimal pytest-compatible runner, in the tester: one test function, all its cases.

It runs what the host counted (``protocol.collect_names``): plain ``test_*`` functions,
``Test*`` classes (with ``setup_method``), ``pytest.mark.parametrize`` cases and async
tests. Fixtures are not provided; a test that needs one is a suite problem.
"""

from __future__ import annotations

import inspect
import sys
import traceback

from . import protocol
from .proxy import CrossingError, HarnessLimit, from_solution


def _parameter_set():
    structures = sys.modules.get("_pytest.mark.structures")  # loaded only if the tests use pytest
    return getattr(structures, "ParameterSet", None)


def _outcome_exception() -> type[BaseException]:
    outcomes = sys.modules.get("_pytest.outcomes")
    found = getattr(outcomes, "OutcomeException", None)
    return found if isinstance(found, type) else AssertionError


def cases(fn) -> list[dict]:
    """The keyword arguments of each parametrized case (one empty case when none)."""
    found: list[dict] = [{}]
    param_set = _parameter_set()
    for mark in getattr(fn, "pytestmark", None) or []:
        if getattr(mark, "name", "") != "parametrize":
            continue
        argnames, argvalues = mark.args[0], mark.args[1]
        if isinstance(argnames, str):
            argnames = [n.strip() for n in argnames.split(",") if n.strip()]
        expanded = []
        for value in argvalues:
            if param_set is not None and isinstance(value, param_set):
                value = value.values
            elif len(argnames) == 1:
                value = (value,)
            expanded += [{**case, **dict(zip(argnames, value, strict=True))} for case in found]
        found = expanded
    return found


def fixtures(fn, found: list[dict]) -> list[str]:
    """Parameters no parametrize mark covers: pytest fixtures, which this runner lacks."""
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return []
    given = set().union(*found) if found else set()
    kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    return [
        p.name
        for p in params
        if p.kind in kinds and p.default is inspect.Parameter.empty and p.name not in given
    ]


def describe(exc: BaseException, lines: list[str]) -> str:
    """``Type at line N: source: message``, the line being the tests' own."""
    try:
        where = ""
        for frame in reversed(traceback.extract_tb(exc.__traceback__)):
            if frame.filename == protocol.TEST_PATH and frame.lineno:
                src = lines[frame.lineno - 1].strip() if frame.lineno <= len(lines) else ""
                where = f" at line {frame.lineno}: {src}"
                break
        text = str(exc)
        return f"{type(exc).__name__}{where}{': ' + text if text else ''}"[:300]
    except BaseException:
        return "unprintable exception"


def run_test(module, name: str, lines: list[str]) -> dict:
    """Run one collected test; the ``test`` frame's fields (``protocol.Frame.TEST``)."""
    cls_name, _, fn_name = name.rpartition("::")
    counts = {"cases": 0, "passed": 0, "failed": 0, "errored": 0, "oom": 0, "solution_errors": 0}
    gone, message, suite = False, "", ""
    outcome_exc = _outcome_exception()
    try:
        owner = getattr(module, cls_name)() if cls_name else module
        fn = getattr(owner, fn_name)
        found = cases(fn)
        if missing := fixtures(fn, found):
            suite = (
                f"{name} uses pytest fixtures the harness does not provide: {', '.join(missing)}"
            )
            found = []
    except BaseException as exc:
        found, message = [], describe(exc, lines)
        counts["cases"] = counts["errored"] = 1
    for kwargs in found:
        counts["cases"] += 1
        try:
            if hasattr(owner, "setup_method"):
                owner.setup_method(fn)
            result = fn(**kwargs)
            if inspect.iscoroutine(result):
                __import__("asyncio").run(result)  # loaded on first use: 4 MB every fork
            counts["passed"] += 1
            continue
        except HarnessLimit as exc:
            kind, caught, suite = "errored", exc, f"{name}: {exc}"
        except (AssertionError, outcome_exc) as exc:
            kind, caught = "failed", exc
        except MemoryError as exc:
            kind, caught = "oom", exc
        except BaseException as exc:
            kind, caught = "errored", exc
        counts[kind] += 1
        if kind != "failed" and from_solution(caught):
            counts["solution_errors"] += 1
        gone = gone or (isinstance(caught, CrossingError) and caught.gone)
        if not message:
            message = describe(caught, lines)
    fields = {"suite": suite} if suite else {}
    return {"name": name, "message": message, "gone": gone, **counts, **fields}


def passed(frame: dict) -> bool:
    """Every case of this test passed."""
    return (
        frame["cases"] > 0
        and frame["passed"] == frame["cases"]
        and not frame.get("suite")
        and not frame["gone"]
    )
