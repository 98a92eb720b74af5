"""The check columns of one result row, the status rule, and the check-cache key.

:class:`CheckFields` is what the checks produce for one completion (and what the
check cache stores). "Not measured" is ``None``, never 0: each constructor sets
only what its outcome measured. :func:`decide_status` is the one place a status
is decided from what was observed. :class:`CheckInputs` holds everything that
changes the fields, so its hash is the cache key by construction.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields
from typing import Any

from tasks.record.types import STATUSES, UNSCORED_STATUSES

# Bump when the checks change what they write for the same inputs.
CHECKER_VERSION = "5"

# Statuses the sandbox may report (CONTRACT); "import_error" is accepted from older sandboxes.
SANDBOX_STATUSES = frozenset(
    {"pass", "fail", "error", "module_error", "import_error", "timeout", "oom"} | UNSCORED_STATUSES
)
# The run hit a limit: its time and memory are censored at the limit, not measured.
CENSORED = frozenset({"timeout", "oom"})
GATE = json.dumps({"gate": 1.0})


def decide_status(
    code: str,
    syntax_valid: bool | None,
    sandbox_status: str | None,
    missing_imports: Sequence[str] | None = (),
) -> str:
    """The row's status from what was observed, in order: code, parse, sandbox verdict.

    * no code at all -> ``no_code``; code that does not parse -> ``syntax_error``;
    * the module failed to load -> ``import_error`` when static analysis found a
      missing package, else ``module_error``;
    * any other sandbox verdict is kept; one Vivek does not know is a ``sandbox_error``.
    """
    if not code.strip():
        return "no_code"
    if not syntax_valid:
        return "syntax_error"
    if sandbox_status in ("module_error", "import_error"):
        return "import_error" if missing_imports else "module_error"
    if sandbox_status in SANDBOX_STATUSES:
        return sandbox_status
    return "sandbox_error"


def plus_verdict(
    status: str,
    extra_passed: int | None,
    extra_total: int | None,
    task_has_extra: bool,
) -> bool | None:
    """``plus_passed``: the visible tests passed AND every extra (differential) test agreed.

    EvalPlus's rule for pass@1+. None when the task has no extra tests, when the row is
    unscored, or when a passing sample's extra calls did not run (not measured). A sample
    whose visible tests did not pass is False whether or not its extra calls ran.
    """
    if not task_has_extra or status in UNSCORED_STATUSES:
        return None
    if status != "pass":
        return False
    if not extra_total:
        return None
    return extra_passed == extra_total


@dataclass(frozen=True)
class CheckInputs:
    """Everything that changes a check row. Its hash is the check-cache key."""

    checker_version: str
    code: str
    tests: str
    reference: str
    entry_point: str
    prompt: str
    extra_calls: tuple[str, ...]
    limits: dict[str, Any]
    weights: dict[str, float]

    def key(self) -> str:
        payload = json.dumps(asdict(self), sort_keys=True, default=str)
        return hashlib.sha256(payload.encode("utf-8", "backslashreplace")).hexdigest()


@dataclass(frozen=True)
class CheckFields:
    """The check columns of a result row for one completion (None = not measured).

    Each field is the :class:`tasks.record.row.Row` column of the same name, where its
    meaning is written.
    """

    status: str
    error: str
    code: str | None
    assembly: str | None = None
    syntax_valid: bool | None = None
    imports_resolved: bool | None = None
    missing_imports: tuple[str, ...] | None = None
    runs_without_error: bool | None = None
    tests_passed: int | None = None
    tests_total: int | None = None
    tests_failed: int | None = None
    extra_tests_passed: int | None = None
    extra_tests_total: int | None = None
    plus_passed: bool | None = None
    coverage: float | None = None
    ruff_violations: int | None = None
    ruff_codes: tuple[str, ...] | None = None
    follows_style_guide: bool | None = None
    type_hint_ratio: float | None = None
    docstring_ratio: float | None = None
    execution_time_ms: float | None = None
    peak_memory_mb: float | None = None
    cpu_limit_s: float | None = None
    side_effects: tuple[str, ...] | None = None
    overall_score: float | None = None
    score_breakdown: str | None = None
    sandbox: str | None = None
    # A timeout, oom or sandbox_error verdict is re-run once; the row keeps the second.
    retried: bool = False
    first_status: str | None = None

    # One constructor per outcome that never reaches the sandbox.
    @classmethod
    def not_generated(cls, reason: str) -> CheckFields:
        """The provider failed: no reply, nothing checked; the sample scores 0."""
        return cls("generation_error", reason, None, overall_score=0.0, score_breakdown=GATE)

    @classmethod
    def no_code(cls, assembly: str = "none") -> CheckFields:
        """The reply holds no code: nothing was measured; the sample scores 0."""
        error = "the reply contains no Python code"
        return cls("no_code", error, "", assembly, overall_score=0.0, score_breakdown=GATE)

    @classmethod
    def syntax_error(cls, code: str, assembly: str | None, error: str) -> CheckFields:
        """The code does not parse: only ``syntax_valid`` is known; the sample scores 0."""
        return cls(
            "syntax_error",
            error or "invalid syntax",
            code,
            assembly,
            syntax_valid=False,
            overall_score=0.0,
            score_breakdown=GATE,
        )

    @classmethod
    def suite_failed(cls, reason: str, code: str, assembly: str | None) -> CheckFields:
        """The task cannot judge anyone (its reference fails its own tests): unscored."""
        return cls("suite_error", reason, code, assembly)

    @classmethod
    def sandbox_failed(
        cls, reason: str, code: str = "", assembly: str | None = None
    ) -> CheckFields:
        """The checks themselves failed (infrastructure): unscored, nothing measured."""
        return cls("sandbox_error", reason, code, assembly)

    @property
    def scored(self) -> bool:
        return self.status not in UNSCORED_STATUSES

    def to_dict(self) -> dict[str, Any]:
        """Row columns; tuples become lists (JSON and Arrow)."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            out[f.name] = list(value) if isinstance(value, tuple) else value
        return out

    @classmethod
    def from_dict(cls, data: Any) -> CheckFields | None:
        """Fields from a cache entry, or None when the entry is not a valid check row."""
        if not isinstance(data, dict):
            return None
        try:
            values = {f.name: data[f.name] for f in fields(cls)}
        except KeyError:
            return None
        if values["status"] not in STATUSES or not isinstance(values["error"], str):
            return None
        if not isinstance(values["code"], str):
            return None
        for name, value in values.items():
            if isinstance(value, list):
                if not all(isinstance(v, str) for v in value):
                    return None
                values[name] = tuple(value)
            elif value is not None and not isinstance(value, str | int | float | bool):
                return None
        return cls(**values)


# The check columns of a result row (``tasks.record.row.Row`` has each, of the same type).
CHECK_COLUMNS = tuple(f.name for f in fields(CheckFields))
