"""The tester (forked by the worker, fresh for every sample): runs the tests, writes the verdict.

This process holds the tests and writes the verdict frames (``protocol.Frame``) into a
file only the worker reads; the solution runs in another process, as another uid, and
reaches this one only through the LINK (``proxy``, ``wire``). The test module sees only
what the task defines: its names bound to handles, the prompt's imports bound to this
process's own modules, and this process's own builtins; never a name the solution chose.
After the tests, if every one passed, it sends the differential calls as one batch.
"""

from __future__ import annotations

import contextlib
import json
import marshal
import os
import sys

from . import confine, protocol, runner
from .protocol import Frame
from .proxy import Client, from_solution, solution_module


class Verdict:
    """Frames into the verdict file, each on its own line behind the sample's nonce."""

    def __init__(self, fd: int, nonce: str) -> None:
        self.fd, self.nonce = fd, nonce

    def emit(self, kind: str, **fields) -> None:
        fields["kind"] = kind
        protocol.write_all(self.fd, (self.nonce + " " + json.dumps(fields) + "\n").encode())


def run(limits: dict, uid, fds: list[int], workdir: str) -> None:  # pragma: no cover
    """Confine this (forked) process, run one sample's tests; never returns."""
    try:
        confine.confine_tests(limits, uid, fds, workdir)
        link_r, link_w, verdict_fd, tests_fd, phase_fd = 3, 4, 5, 6, 7
        blob = os.pread(tests_fd, os.fstat(tests_fd).st_size, 0)
        os.close(tests_fd)
        head, _, compiled = blob.partition(b"\n")
        job = protocol.TesterJob(**json.loads(head))
        code = marshal.loads(compiled) if compiled else None  # compiled by the host
        harness(job, code, Verdict(verdict_fd, job.nonce), Client(link_r, link_w), phase_fd)
        for stream in (sys.stdout, sys.stderr):
            stream.flush()
        os._exit(0)
    finally:
        os._exit(70)


def harness(
    job: protocol.TesterJob, code, out: Verdict, client: Client, phase_fd: int = -1
) -> None:
    """Hello, the task's names, the tests, the differential calls, goodbye."""
    try:
        hello = client.link.recv()
    except BaseException as exc:
        hello = ["h", {"ok": False, "died": True, "error": type(exc).__name__}]
    info = hello[1] if len(hello) > 1 and type(hello[1]) is dict else {}
    if hello[0] != "h" or info.get("ok") is not True:
        out.emit(Frame.IMPORT, ok=False, oom=info.get("oom") is True,
                 died=info.get("died") is True,
                 error=str(info.get("error", "the module did not load"))[:300])  # fmt: skip
        return
    out.emit(Frame.IMPORT, ok=True)
    run_calls = job.tests is None
    if job.tests is not None:
        run_calls = _tests(job, code, out, client)
        if phase_fd >= 0:  # what the sample reaches from now on cannot change the verdict
            with contextlib.suppress(OSError):
                os.write(phase_fd, protocol.TESTS_DONE)
    if job.calls and run_calls:
        outputs, complete = client.batch(job.calls, job.full_outputs)
        out.emit(Frame.CALLS, outputs=outputs, complete=complete)
    _goodbye(client, out)


def _tests(job: protocol.TesterJob, code, out: Verdict, client: Client) -> bool:
    """Run the tests; whether every one passed (then the differential calls follow)."""
    if code is None:
        out.emit(Frame.COLLECT, ok=False, suite=True, error="the tests were not compiled")
        return False
    lines = (job.tests or "").splitlines()
    try:
        values = client.names(job.bind, job.classes)
        sys.modules["solution"] = solution_module(client, values, job.imports)
    except BaseException as exc:
        out.emit(Frame.COLLECT, ok=False, error=f"the task's names: {runner.describe(exc, [])}")
        return False
    module = type(sys)("test_solution")
    module.__file__ = protocol.TEST_PATH
    sys.modules["test_solution"] = module
    try:
        exec(code, module.__dict__)
    except BaseException as exc:
        mine = from_solution(exc) or (isinstance(exc, ImportError) and exc.name == "solution")
        out.emit(Frame.COLLECT, ok=False, suite=not mine,
                 error="collecting tests: " + runner.describe(exc, lines))  # fmt: skip
        return False
    names = job.names if job.names is not None else []
    out.emit(Frame.COLLECT, ok=True, names=names)
    all_passed = bool(names)
    for name in names:
        frame = runner.run_test(module, name, lines)
        out.emit(Frame.TEST, **frame)
        all_passed = all_passed and runner.passed(frame)
    return all_passed


def _goodbye(client: Client, out: Verdict) -> None:
    """Ask the solution for the lines it executed (self-reported); it exits after answering."""
    stats = {}
    if not client.gone:
        try:
            reply = client.link.request(["q"])
            stats = reply[1] if len(reply) > 1 and type(reply[1]) is dict else {}
        except BaseException:
            stats = {}
    lines, why = stats.get("lines"), stats.get("error")
    ok = type(lines) is list and len(lines) < 1_000_000 and all(type(n) is int for n in lines)
    fields: dict = {"lines": lines if ok else None}
    if why:
        fields["error"] = str(why)[:300]
    out.emit(Frame.COVERAGE, **fields)
    out.emit(Frame.DONE)
