"""MBPP's own way of judging an answer, as a test helper (issue 25).

MBPP's harness, and the ones that reproduce its published numbers (bigcode's
``check_correctness``, the MBPP task in lm-evaluation-harness and inspect_evals),
execute one program: the task's setup code and test imports, then the answer, then
the asserts, with ``exec`` in a single namespace, in a fresh process, under a time
limit (3 s in bigcode's); the answer passes when the program finishes without an
exception. This module does exactly that, written here from that description, so
Vivek's verdicts can be compared with it.

The MBPP data the agreement tests use is not in the repository's history: see
``corpus_dir``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

# bigcode uses 3 s; Mbpp/123's own reference needs about 5 s of CPU, so the agreement
# tests give both harnesses the same 10 s (Vivek's default CPU ceiling).
TIMEOUT_S = 10.0
REPO = Path(__file__).resolve().parents[2]
# Where the MBPP corpus may be: in the checkout, or in the steering repo's shared/
# folder beside it (a copy of shared/ sits beside the clone in CI).
CORPUS_DIRS = tuple(
    Path(p)
    for p in (
        os.environ.get("VIVEK_MBPP_CORPUS", ""),
        REPO / "data" / "corpus" / "mbpp",
        REPO.parent / "shared" / "corpus" / "mbpp",
    )
    if str(p)
)
SANITIZED_TEST = "sanitized-mbpp-test.jsonl"

# Runs in the fresh process: the program arrives on stdin; the verdict is the exit code.
_RUNNER = """
import signal, sys
program = sys.stdin.read()
def _timeout(signum, frame):
    raise TimeoutError("timed out")
signal.signal(signal.SIGALRM, _timeout)
signal.setitimer(signal.ITIMER_REAL, float(sys.argv[1]))
try:
    exec(compile(program, "<mbpp>", "exec"), {"__name__": "__main__"})
except TimeoutError:
    sys.__stderr__.write("timed out")
    sys.exit(3)
except BaseException as exc:
    sys.__stderr__.write("failed: " + type(exc).__name__ + ": " + str(exc)[:200])
    sys.exit(1)
signal.setitimer(signal.ITIMER_REAL, 0)
sys.exit(0)
"""


@dataclass(frozen=True)
class Verdict:
    passed: bool
    result: str  # "passed", "timed out" or "failed: <exception>"


def corpus_dir() -> Path:
    """The folder holding the MBPP corpus (``SANITIZED_TEST`` and the answer files)."""
    for folder in CORPUS_DIRS:
        if (folder / SANITIZED_TEST).is_file():
            return folder
    pytest.skip(
        f"the MBPP corpus is in none of {', '.join(map(str, CORPUS_DIRS))} "
        "(data/corpus/README.md says where each file comes from and why it is not committed)"
    )


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def mbpp_program(record: dict[str, Any], answer: str) -> str:
    """The program MBPP's harness runs for an answer: setup, imports, answer, asserts."""
    parts = [record.get("test_setup_code", ""), *record.get("test_imports", []), answer]
    return "\n".join([*parts, *record["test_list"]]) + "\n"


def check_correctness(program: str, timeout_s: float = TIMEOUT_S) -> Verdict:
    """Run ``program`` as MBPP's harness does: one namespace, fresh process, time limit."""
    with tempfile.TemporaryDirectory() as workdir:
        try:
            proc = subprocess.run(
                [sys.executable, "-I", "-c", _RUNNER, str(timeout_s)],
                input=program.encode("utf-8", "surrogatepass"),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                cwd=workdir,
                env={"PATH": os.environ.get("PATH", ""), "PYTHONHASHSEED": "0"},
                timeout=timeout_s + 3,  # the harness's own margin before it kills
                check=False,
            )
        except subprocess.TimeoutExpired:
            return Verdict(False, "timed out")
    tail = proc.stderr.decode("utf-8", "replace").strip().splitlines()
    if proc.returncode == 0:
        return Verdict(True, "passed")
    if proc.returncode == 3:
        return Verdict(False, "timed out")
    return Verdict(False, tail[-1] if tail else f"failed: exit code {proc.returncode}")
