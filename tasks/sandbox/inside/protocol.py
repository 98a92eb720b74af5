"""The sandbox protocol, in one place: processes, channels, framing, messages, frame kinds.

Both sides import this module: the host as ``tasks.sandbox.inside.protocol``, the sandbox
as ``vivek_inside.protocol`` (the ``inside`` folder is bound read-only into bubblewrap as
the package ``vivek_inside``). It imports only the standard library.

Who runs what (one row per process of a sample; the worker serves many samples)::

    process      file(s)                          runs as / rights
    -----------  -------------------------------  -----------------------------------------
    host         tasks/sandbox/pool.py, verdict   the user; never runs suite or solution code
    worker       worker.py (the forkserver)       root in bubblewrap, 6 capabilities; never
                                                  loads suite or solution code; forks the two
                                                  processes below for every sample, kills
                                                  everything a sample started at its end
    solution     solution_process.py, wire.py     the sample uid, no capability, rlimits,
                                                  seccomp (no user namespace), cgroups; the
                                                  work dir holds solution.py only
    tester       test_process.py, runner.py,      the test uid, no capability, rlimits,
                 proxy.py, wire.py                seccomp, not dumpable; fresh per sample

Channels and what each allows::

    host -> worker      stdin: HOST frames. A job header (``JobHeader``), then the code's
                        raw bytes (spliced into solution.py) and the tester's part
                        (spliced into a memfd only the tester gets). No sample's code,
                        tests or output ever enters the worker's memory, which every
                        later sample's processes would inherit.
    worker -> host      stdout: HOST frames. ``Hello`` once, then per job a report
                        (``WorkerReport``) and raw bytes: the verdict, then the tails
                        of the solution's stdout and stderr (spliced, never read).
    tester <-> solution a pipe pair: LINK frames. The tester asks (``Op``), the solution
                        answers with plain data (``wire``) or handles; the only calls the
                        solution can make are to callables the tests lent it.
    tester -> worker    the verdict memfd: one line per frame, ``<nonce> <json>``, kinds
                        in ``Frame``; the solution never sees this fd. And a pipe on
                        which the tester writes ``TESTS_DONE`` once its tests are over,
                        so the worker knows whether a limit came during them or after.

HOST frames: 4-byte big-endian length + a JSON object. LINK frames: 4-byte big-endian
length + a JSON array whose first item is the message kind (``Op`` or ``Reply``).
"""

from __future__ import annotations

import json
import os
import struct
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the sandbox never parses: the host counts tests and imports
    import ast

TESTS_DONE = b"t"
FRAME_CAP = 256 * 1024 * 1024  # a LINK frame larger than this is a protocol violation
VERDICT_CAP = 8 * 1024 * 1024
TEST_PATH = "/tests/test_solution.py"  # the file name tracebacks of the tests show
SOLUTION = "solution.py"


class Op:
    """LINK requests. The tester sends all of them; the solution sends only ``CALL`` to a
    callable the tests lent it (a ``key=`` function, say)."""

    NAMES = "n"  # [n, [name, ...]] -> [r, [[ok, wire_or_error], ...]]: the task's names
    CALL = "c"  # [c, handle, [arg, ...], [key, value, ...]] -> a reply
    GET = "g"  # [g, handle, name]: getattr
    SET = "s"  # [s, handle, name, value]: setattr
    OP = "o"  # [o, handle, name, [arg, ...]]: an operator on a task-class instance
    BATCH = "b"  # [b, [[name, [arg...], [k, v, ...]], ...]] -> PART frames, then RESULT
    QUIT = "q"  # [q] -> [r, {coverage...}]; the solution exits after answering


class Reply:
    """LINK replies."""

    HELLO = "h"  # solution -> tester once its module loaded: [h, {ok, error, oom}]
    RESULT = "r"  # [r, value, {arg index: new value}] (write-backs of mutated arguments)
    RAISED = "e"  # [e, {n: name, b: builtin base, a: args, m: message, k: class handle}]
    REFUSED = "x"  # [x, why]: the answer cannot cross (a non-plain object, a bad request)
    PART = "p"  # [p, index, [v, wire] | [e, exception name] | [x, why]]: one batch call
    FINAL = frozenset({RESULT, RAISED, REFUSED})


# Operators the tester may ask about an instance of a class the task names (a ``Stack``).
OPERATORS = frozenset(
    {"len", "contains", "getitem", "setitem", "delitem", "iter", "next", "bool", "repr",
     "str", "hash", "eq", "ne", "lt", "le", "gt", "ge", "isinstance", "await"}
)  # fmt: skip


class Frame:
    """Verdict frame kinds (tester -> worker -> host), in the order the tester writes them."""

    IMPORT = "import"  # {ok, oom, died, error}: did the module load
    COLLECT = "collect"  # {ok, suite, error, names}: did the test module run
    TEST = "test"  # {name, cases, passed, failed, errored, oom, solution_errors, gone,
    #                 message, suite}: one test function (all its parametrized cases)
    CALLS = "calls"  # {outputs: [repr or "!Exc"], complete}: the differential calls
    COVERAGE = "coverage"  # {lines, error}: lines executed, self-reported by the solution
    DONE = "done"  # {}: the tester finished normally
    KINDS = (IMPORT, COLLECT, TEST, CALLS, COVERAGE, DONE)


# ---------------------------------------------------------------- HOST messages
@dataclass
class JobHeader:
    """One sample, host -> worker. ``code`` raw bytes follow (spliced into solution.py),
    then ``blob`` raw bytes (the tester's part, spliced into a memfd): the worker never
    holds a sample's code or tests in its memory, which every later fork inherits."""

    code: int
    blob: int
    limits: dict[str, Any]
    measure_coverage: bool
    needs_pytest: bool


@dataclass
class TesterJob:
    """The tester's part of a job (the first line of the blob; marshal'd tests follow).

    ``names``: test ids the host counted; ``bind``: names the tests see from the
    solution (each a proxy); ``classes``: of those, the classes whose instances may
    stay behind handles; ``imports``: [name, module, attribute or None] the tester binds
    from its own imports (what the prompt imports); ``calls``: differential calls as
    [name, wire args, wire kwargs], run only when every test passed (or when there are
    no tests: a reference's outputs); the first ``full_outputs`` of them come back whole,
    the others cut at ``OUTPUT_CAP`` characters.
    """

    nonce: str
    tests: str | None
    names: list[str] | None
    bind: list[str] = field(default_factory=list)
    classes: list[str] = field(default_factory=list)
    imports: list[list[Any]] = field(default_factory=list)
    calls: list[list[Any]] = field(default_factory=list)
    full_outputs: int = 0


OUTPUT_CAP = 2000  # characters of a differential output's repr
FULL_OUTPUT_CAP = 1_000_000  # of an output that becomes an expected value


@dataclass
class Hello:
    """worker -> host, once, when the worker is ready."""

    ready: bool
    pid: int
    python: str
    cgroups: dict[str, Any]
    coverage_tool: str


@dataclass
class WorkerReport:
    """worker -> host, per job: what the worker observed. ``verdict_len`` raw bytes follow.

    Everything here is measured outside the solution's process (exit statuses, rusage,
    wall clock, files left behind); only the verdict bytes come from the tester.
    """

    stdout_len: int  # bytes of the stdout tail that follow the verdict
    stdout_bytes: int  # all it wrote
    stderr_len: int
    stderr_bytes: int
    exit_code: int | None  # the solution process's
    signal: int | None
    tester_exit_code: int | None
    tester_signal: int | None
    tree_cpu_ms: float  # every process of the sample but the tester, from fork to end
    tester_cpu_ms: float
    peak_memory_mb: float  # the solution process's peak RSS over its RSS at birth
    maxrss_mb: float
    wall_ms: float
    # The first limit the sample reached, as the worker saw it: "" | "cpu" (the solution
    # process's RLIMIT_CPU) | "tree_cpu" (its processes together) | "tester_cpu" | "wall" |
    # "oom" (a kill in the sample's cgroup, or a kill near the memory limit); and whether
    # it came after the tester said its tests were over (``TESTS_DONE``).
    limit: str
    limit_after_tests: bool
    side_effects: list[str]
    cgroup_oom_kills: int | None = None
    cgroup_peak_mb: float | None = None
    verdict_len: int = 0
    verdict_truncated: bool = False
    worker_error: str = ""

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> WorkerReport:
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in raw.items() if k in names})


def to_dict(record: Any) -> dict[str, Any]:
    """A record's fields (shallow: they are plain data; ``asdict`` deep-copies, and costs a
    worker half a millisecond per sample)."""
    return {f.name: getattr(record, f.name) for f in fields(record)}


# ---------------------------------------------------------------- framing
def pack(body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + body


def write_all(fd: int, data: bytes) -> None:
    while data:
        data = data[os.write(fd, data) :]


def read_exact(fd: int, n: int) -> bytes | None:
    """``n`` bytes from ``fd``, or None at end of stream."""
    chunks, left = [], n
    while left:
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def send_host(fd: int, msg: dict[str, Any]) -> None:
    write_all(fd, pack(json.dumps(msg).encode()))


def recv_host(fd: int) -> dict[str, Any] | None:
    head = read_exact(fd, 4)
    if head is None:
        return None
    body = read_exact(fd, struct.unpack(">I", head)[0])
    return None if body is None else json.loads(body)


# ---------------------------------------------------------------- test names
def collect_names(tree: ast.Module) -> list[str]:
    """Test ids pytest would collect (``name`` or ``Class::name``; the last definition wins).

    The host counts them from the source it sent; the tester runs exactly these. A job
    passes only when each reported once and passed.
    """
    import ast

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


def imports_pytest(tree: ast.Module) -> bool:
    """Whether the tests import pytest (the worker then loads it once, before forking)."""
    import ast

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            if any(a.name.split(".")[0] in ("pytest", "_pytest") for a in node.names):
                return True
        elif isinstance(node, ast.ImportFrom) and node.module:
            found = node.module.split(".")[0] in ("pytest", "_pytest")
            if found:
                return True
    return False
