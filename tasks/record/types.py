"""Typed records that cross a boundary: suites, requests, generations, check results.

Internal values are frozen dataclasses; the result row, the Parquet schema's source, is
``tasks.record.row.Row``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, get_args

Status = Literal[
    "pass",
    "fail",
    "error",
    "module_error",
    "import_error",
    "syntax_error",
    "no_code",
    "timeout",
    "oom",
    "generation_error",
    "sandbox_error",
    "suite_error",
]
# One line per status: the README's table and the report's legend come from here.
STATUS_MEANINGS: dict[str, str] = {
    "pass": "every test passed",
    "fail": "a test assertion failed (the solution ran and gave a wrong answer)",
    "error": "the solution raised an exception while under test",
    "module_error": "the solution's module raised while loading (before any test ran)",
    "import_error": "a package the solution imports is not installed (see missing_imports)",
    "syntax_error": "the code does not parse (including TabError and IndentationError)",
    "no_code": "the reply, empty or not, holds no Python code",
    "timeout": "the CPU or wall-clock time limit was reached",
    "oom": "the memory limit was reached",
    "generation_error": "the provider failed; the row carries error and error_kind",
    "sandbox_error": "Vivek's sandbox failed (infrastructure): excluded from scores",
    "suite_error": (
        "the task's own tests are broken: excluded from scores, reported as a suite problem"
    ),
}
# Rows that say nothing about the model: dropped from every score and mean.
UNSCORED_STATUSES: frozenset[str] = frozenset({"sandbox_error", "suite_error"})
STATUSES: tuple[str, ...] = get_args(Status)
assert set(STATUSES) == set(STATUS_MEANINGS)


@dataclass(frozen=True)
class Task:
    """One problem of a suite.

    ``tests`` is Python source of pytest-style ``test_*`` functions that import
    what they test from the module ``solution``.
    """

    id: str
    prompt: str
    tests: str
    reference: str | None = None
    tags: tuple[str, ...] = ()
    entry_point: str | None = None
    # HumanEval-style prompts are code to continue; chat replies may omit the prompt.
    prompt_is_code: bool = False
    # Code the benchmark's own harness runs in the solution's namespace before the
    # solution (MBPP's setup code and test imports); ``assemble`` puts it in front.
    preamble: str = ""
    # Why the suite file's record for this task cannot be checked (its rows are
    # ``suite_error`` with this reason); None for a task that can be.
    broken: str | None = None
    # Visible-test calls whose expected values are the reference's outputs (EvalPlus's
    # base inputs): the checker runs the reference on them in its own sandbox job and
    # writes the values into the tests' ``EXPECTED = None`` line (``tasks.suites.evalplus``).
    base_calls: tuple[str, ...] = ()


@dataclass(frozen=True)
class Suite:
    name: str
    tasks: tuple[Task, ...]
    source: str

    def digest(self) -> str:
        # Fields left at their default are omitted, so adding a field to Task does not
        # change the digest of suites that do not use it.
        payload = json.dumps([_set_fields(t) for t in self.tasks], sort_keys=True)
        return hashlib.sha256(payload.encode()).hexdigest()[:16]


def _set_fields(task: Task) -> dict[str, Any]:
    data = asdict(task)
    for name in ("preamble", "broken", "base_calls"):
        if not data[name]:
            del data[name]
    return data


@dataclass(frozen=True)
class GenerationOptions:
    """Options sent with every call; part of the cache key."""

    temperature: float = 0.2
    max_tokens: int = 512
    seed: int | None = None
    system_prompt: str | None = (
        "You are an expert Python programmer. Reply with one complete Python module "
        "in a single ```python fenced block."
    )
    top_p: float | None = None


@dataclass(frozen=True)
class GenerationRequest:
    prompt: str
    options: GenerationOptions = field(default_factory=GenerationOptions)
    task_id: str = ""
    sample: int = 0


@dataclass(frozen=True)
class Generation:
    """What one model call returned, with its metrics.

    Nothing here defaults to 0: a latency, cost or time the provider did not give is None
    (not measured). ``cost_usd`` is None when the price is unknown (never a silent 0).
    ``temperature`` is what the run requested; ``temperature_sent`` what the provider
    was actually sent (None when nothing was sent, e.g. the provider's default).
    """

    text: str
    model: str
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    latency_s: float | None = None
    cost_usd: float | None = None
    timestamp: str | None = None
    temperature: float | None = None
    temperature_sent: float | None = None
    finish_reason: str | None = None
    attempts: int = 1
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Generation:
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        return cls(**known)


@dataclass
class CellOutcome:
    """A generated (or failed) cell, model x task x sample, ready for checking."""

    model: str
    provider: str
    task_id: str
    sample: int
    key: str
    options: GenerationOptions
    generation: Generation | None = None
    error: str = ""
    error_kind: str = ""
    attempts: int = 0
    cached: bool = False

    @property
    def ok(self) -> bool:
        return self.generation is not None and not self.error
