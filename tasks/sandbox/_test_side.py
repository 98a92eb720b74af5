"""The test process (forked by ``_worker.py``): runs the tests against the proxy module.

Imports nothing from ``tasks``. This process holds the tests and writes the verdict; the
solution runs in another process, as another uid, and reaches this one only through the
link (``_proxy``/``_wire``). It never sees the solution's objects, only plain data and
handles. The harness is a minimal pytest-compatible runner; it reports frames, one JSON
line each prefixed with the per-sample nonce, into a file only the worker reads. One
tester process per worker serves every sample in turn (``serve``): forking a fresh one
per sample cost more than the crossing itself.
"""

from __future__ import annotations

import ast
import asyncio
import builtins
import inspect
import json
import marshal
import os
import socket
import sys
import time
import traceback

from _guards import confine_tests
from _proxy import Client, HarnessLimit, from_solution, solution_module
from _pytest.mark.structures import ParameterSet
from _pytest.outcomes import OutcomeException

TESTS = "test_solution.py"
TEST_PATH = "/tests/test_solution.py"  # a name for tracebacks: no such file exists
RECYCLE_AFTER = 2000  # jobs per tester


def collect_names(tree: ast.Module) -> list[str]:
    """Test ids pytest would collect from the test source itself (last definition wins)."""
    kinds = (ast.FunctionDef, ast.AsyncFunctionDef)
    names: dict[str, None] = {}
    for node in tree.body:
        if isinstance(node, kinds) and node.name.startswith("test"):
            names[node.name] = None
        elif isinstance(node, ast.ClassDef) and node.name.startswith("Test"):
            for item in node.body:
                if isinstance(item, kinds) and item.name.startswith("test"):
                    names[f"{node.name}::{item.name}"] = None
    return list(names)


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


def _fixtures(fn, cases: list[dict]) -> list[str]:
    """Parameters no parametrize mark covers: pytest fixtures, which this runner lacks."""
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return []
    given = set().union(*cases) if cases else set()
    kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    return [
        p.name
        for p in params
        if p.kind in kinds and p.default is inspect.Parameter.empty and p.name not in given
    ]


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


class _Names:
    """The solution's names for extra calls: public ones at hand, the rest fetched."""

    def __init__(self, module) -> None:
        self.module = module

    def __getitem__(self, name: str):
        found = self.module.__dict__
        if name in found:
            return found[name]
        if name.startswith("__") or hasattr(builtins, name):
            raise KeyError(name)
        try:
            return getattr(self.module, name)
        except AttributeError:
            raise KeyError(name) from None


class Verdict:
    """Frames into the verdict file."""

    def __init__(self, fd: int, nonce: str) -> None:
        self.fd, self.nonce = fd, nonce

    def emit(self, kind: str, **fields) -> None:
        fields["kind"] = kind
        data = (self.nonce + " " + json.dumps(fields) + "\n").encode()
        while data:
            data = data[os.write(self.fd, data) :]


def serve(limits: dict, uid, ctl: int, workdir: str) -> None:  # pragma: no cover
    """The tester: confined once, then one sample after another; never returns.

    Each job comes on the control socket with its four fds (link in, link out, verdict
    file, tests file); the tester answers with its CPU time once the verdict is written.
    A fresh ``Client`` and fresh modules per job: nothing of one sample's crossing
    outlives it. The worker kills and restarts the tester if it overruns a job.
    """
    try:
        confine_tests(limits, uid, [ctl], workdir)
        sock = socket.socket(fileno=3)
        served = 0
        while True:
            try:
                _, fds, _, _ = socket.recv_fds(sock, 1024, 4)
            except OSError:
                break
            if len(fds) != 4:
                break
            start = time.process_time()
            try:
                run_job(fds)
            finally:
                for fd in fds:
                    os.close(fd)
                for name in ("solution", "test_solution"):
                    sys.modules.pop(name, None)
            served += 1
            # A fresh tester after a while: no slow leak ever becomes an oom.
            last = served >= RECYCLE_AFTER or _rss_mb() > limits["memory_mb"]
            cpu_ms = (time.process_time() - start) * 1000
            sock.send(json.dumps({"cpu_ms": cpu_ms, "last": last}).encode())
            if last:
                break
    finally:
        os._exit(0)


def _rss_mb() -> float:
    with open("/proc/self/statm", "rb") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def run_job(fds: list[int]) -> None:  # pragma: no cover
    link_r, link_w, verdict_fd, tests_fd = fds
    blob = os.pread(tests_fd, os.fstat(tests_fd).st_size, 0)
    head, _, compiled = blob.partition(b"\n")
    job = json.loads(head)
    # Compiled once per task by the host (trusted): no parsing here.
    job["code"] = marshal.loads(compiled) if compiled else None
    os.chdir("/")
    _harness(job, Verdict(verdict_fd, job["nonce"]), Client(link_r, link_w))


def _harness(job: dict, out: Verdict, client: Client) -> None:  # pragma: no cover
    test_path = TEST_PATH
    source = job["tests"]
    try:
        code = job.get("code") or compile(source, test_path, "exec", dont_inherit=True)
        names = job.get("names")
        if names is None:
            names = collect_names(ast.parse(source, test_path))
    except (SyntaxError, ValueError) as exc:
        out.emit("collect", ok=False, suite=True, error=f"test source does not parse: {exc}"[:300])
        names, code = None, None
    try:
        hello = client.link.recv()
    except BaseException as exc:
        hello = ["h", {"ok": False, "died": True, "error": type(exc).__name__}]
    info = hello[1] if len(hello) > 1 and type(hello[1]) is dict else {}
    if hello[0] != "h" or info.get("ok") is not True:
        out.emit("import", ok=False, oom=info.get("oom") is True, died=info.get("died") is True,
                 error=str(info.get("error", "the module did not load"))[:300])  # fmt: skip
        return
    out.emit("import", ok=True)
    if code is None:
        return _goodbye(client, out)
    lines = source.splitlines()
    try:
        sys.modules["solution"] = solution_module(client, info.get("names") or [])
    except BaseException as exc:
        out.emit("collect", ok=False, error=f"the solution's names: {_describe(exc, '', [])}")
        return _goodbye(client, out)
    module = type(sys)("test_solution")
    module.__file__ = test_path
    sys.modules["test_solution"] = module
    try:
        exec(code, module.__dict__)
    except BaseException as exc:
        mine = from_solution(exc) or (isinstance(exc, ImportError) and exc.name == "solution")
        out.emit("collect", ok=False, suite=not mine,
                 error="collecting tests: " + _describe(exc, test_path, lines))  # fmt: skip
        return _goodbye(client, out)
    out.emit("collect", ok=True, names=names)
    for name in names:
        _run_test(module, name, test_path, lines, out)
    outputs = []
    names = _Names(sys.modules["solution"])
    for expr in job.get("extra_calls", []):
        try:
            outputs.append(repr(eval(expr, {"__builtins__": builtins}, names))[:2000])
        except BaseException as exc:
            outputs.append("!" + type(exc).__name__)
    out.emit("extra", outputs=outputs)
    _goodbye(client, out)


def _run_test(
    module, name: str, test_path: str, lines: list[str], out: Verdict
) -> None:  # pragma: no cover
    cls_name, _, fn_name = name.rpartition("::")
    counts = {"cases": 0, "passed": 0, "failed": 0, "errored": 0, "oom": 0, "solution_errors": 0}
    message, suite = "", ""
    try:
        owner = getattr(module, cls_name)() if cls_name else module
        fn = getattr(owner, fn_name)
        cases = _cases(fn)
        if missing := _fixtures(fn, cases):
            suite = (
                f"{name} uses pytest fixtures the harness does not provide: {', '.join(missing)}"
            )
            cases = []
    except BaseException as exc:
        cases, message = [], _describe(exc, test_path, lines)
        counts["cases"] = counts["errored"] = 1
    for kwargs in cases:
        counts["cases"] += 1
        try:
            if hasattr(owner, "setup_method"):
                owner.setup_method(fn)
            result = fn(**kwargs)
            if inspect.iscoroutine(result):
                asyncio.run(result)
            counts["passed"] += 1
            continue
        except HarnessLimit as exc:
            kind, exc_, suite = "errored", exc, f"{name}: {exc}"
        except (AssertionError, OutcomeException) as exc:
            kind, exc_ = "failed", exc
        except MemoryError as exc:
            kind, exc_ = "oom", exc
        except BaseException as exc:
            kind, exc_ = "errored", exc
        counts[kind] += 1
        if kind != "failed" and from_solution(exc_):
            counts["solution_errors"] += 1
        if not message:
            message = _describe(exc_, test_path, lines)
    fields = {"suite": suite} if suite else {}
    out.emit("test", name=name, message=message, **counts, **fields)


def _goodbye(client: Client, out: Verdict) -> None:  # pragma: no cover
    """Ask the solution for its self-reported figures; it exits after answering."""
    stats = {}
    if not client.gone:
        try:
            reply = client.link.request(["q"])
            stats = reply[1] if len(reply) > 1 and type(reply[1]) is dict else {}
        except BaseException:
            stats = {}
    cov, cpu, why = stats.get("coverage"), stats.get("cpu_ms"), stats.get("coverage_error")
    fields = {
        "value": cov if type(cov) in (int, float) else None,
        "cpu_ms": cpu if type(cpu) in (int, float) else None,
    }
    if why:
        fields["error"] = str(why)[:300]
    out.emit("coverage", **fields)
    out.emit("done")
