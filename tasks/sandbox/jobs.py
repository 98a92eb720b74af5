"""Host side: one job as the messages the worker gets (the header, the code, the tester's part).

The tests are compiled here once per task (the tester only unmarshals them), and the
differential calls are parsed here into wire values (name, arguments), so nothing in the
sandbox parses a test source or evaluates an expression.
"""

from __future__ import annotations

import ast
import functools
import json
import marshal
from typing import Any

from tasks.sandbox.inside import protocol, wire
from tasks.sandbox.namespace import exports_for
from tasks.sandbox.types import Job, Limits
from tasks.sandbox.verdict import expected_tests


@functools.lru_cache(maxsize=512)  # a task's samples share one test source
def compiled_tests(source: str) -> bytes:
    """The tests compiled once here (marshal), so no tester parses them; b"" if bad."""
    try:
        return marshal.dumps(compile(source, protocol.TEST_PATH, "exec", dont_inherit=True))
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return b""  # the tester reports a suite problem


@functools.lru_cache(maxsize=512)
def _needs_pytest(source: str) -> bool:
    try:
        return protocol.imports_pytest(ast.parse(source))
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False


@functools.lru_cache(maxsize=65536)
def wire_call(expr: str) -> tuple:
    """``"add(1, [2])"`` as [name, wire args, wire kwargs] (literals only; else ValueError)."""
    node = ast.parse(expr, mode="eval").body
    if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Name):
        raise ValueError(f"not a call of a name: {expr[:80]!r}")
    encode = wire.Encoder(_no_objects)
    args = [encode(_literal_eval(a)) for a in node.args]
    kwargs: list = []
    for kw in node.keywords:
        if kw.arg is None:
            raise ValueError("**kwargs in a call")
        kwargs += [kw.arg, encode(_literal_eval(kw.value))]
    return (node.func.id, args, kwargs)


class _NonFinite(ast.NodeTransformer):
    """``float('inf')``, ``float('-inf')``, ``float('nan')`` as constants; any other call stays
    (and ``ast.literal_eval`` refuses it)."""

    def visit_Call(self, node: ast.Call) -> ast.AST:
        arg = node.args[0] if len(node.args) == 1 and not node.keywords else None
        if (
            isinstance(node.func, ast.Name)
            and node.func.id == "float"
            and isinstance(arg, ast.Constant)
            and arg.value in ("inf", "-inf", "nan")
        ):
            return ast.copy_location(ast.Constant(float(arg.value)), node)
        return node


def _literal_eval(node: ast.expr) -> object:
    """``ast.literal_eval``, plus ``float('inf')``, ``float('-inf')`` and ``float('nan')``."""
    return ast.literal_eval(_NonFinite().visit(node))


def _no_objects(x: object) -> object:
    raise ValueError(f"not a literal: {type(x).__name__}")


def job_messages(job: Job, limits: Limits, nonce: str) -> tuple[dict[str, Any], bytes]:
    """The job header and the raw bytes after it: the code, then the tester's part."""
    calls = []
    for expr in job.calls:
        try:
            calls.append(list(wire_call(expr)))
        except (ValueError, SyntaxError, RecursionError, MemoryError):
            calls.append(["", [], []])  # keeps positions; the solution answers "!AttributeError"
    exports = job.exports if job.exports is not None else exports_for(job.tests, None, None)
    tester = protocol.TesterJob(
        nonce=nonce,
        tests=job.tests,
        names=expected_tests(job.tests) if job.tests is not None else None,
        bind=list(exports.bind),
        classes=list(exports.classes),
        imports=[list(i) for i in exports.imports],
        calls=calls,
        full_outputs=job.full_outputs,
    )
    compiled = compiled_tests(job.tests) if job.tests is not None else b""
    blob = json.dumps(protocol.to_dict(tester)).encode() + b"\n" + compiled
    code = job.code.encode("utf-8", "surrogatepass")
    header = protocol.JobHeader(
        code=len(code),
        blob=len(blob),
        limits=limits.to_dict(),
        measure_coverage=job.measure_coverage,
        needs_pytest=job.tests is not None and _needs_pytest(job.tests),
    )
    return protocol.to_dict(header), code + blob
