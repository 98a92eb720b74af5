"""Records for the sandbox boundary: what to run, under which limits, and what came back."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Limits:
    """Resource limits for one sample (its import, its tests and its extra calls).

    ``cpu_s`` is CPU time, so a busy machine does not turn passes into timeouts;
    ``wall_s`` only catches programs that sleep or block.
    """

    cpu_s: float = 10.0
    wall_s: float = 30.0
    memory_mb: int = 1024
    nproc: int = 32
    fsize_mb: int = 16
    output_kb: int = 64

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Job:
    """One sample to run: the candidate module and the task's tests.

    ``extra_calls`` are Python expressions (e.g. ``"add(1, 2)"``) evaluated after the
    tests, in the test process, against the solution's public names (calls cross to the
    solution like the tests' own); the ``repr`` of each result (or ``"!ExcType"``)
    comes back in ``ExecResult.extra_outputs`` (differential testing).
    """

    code: str
    tests: str
    extra_calls: tuple[str, ...] = ()
    measure_coverage: bool = True
    # A tighter CPU-time limit for this job (calibrated to the task's reference); never
    # looser than the sandbox's own ``Limits.cpu_s``.
    cpu_s: float | None = None


@dataclass(frozen=True)
class ExecResult:
    """The verdict on one job, decided outside the generated code's reach.

    status: pass | fail | error | module_error | timeout | oom | suite_error |
    sandbox_error (``tasks.record.types.STATUS_MEANINGS``; a missing package is a
    ``module_error`` here, which ``tasks.quality.checker`` may call ``import_error``).
    ``runs_without_error``: the module loaded and no test got an exception from the
    solution's own code (failed assertions do not count). ``execution_time_ms``: the
    solution process's CPU time while serving the tests (coverage tracing included when
    measured); ``peak_memory_mb``: its peak RSS over its RSS at birth.
    ``details["self_reported"]`` names the figures the solution's process measured
    itself (it could distort them; the verdict never depends on them).
    """

    status: str
    tests_total: int = 0
    tests_passed: int = 0
    tests_failed: int = 0
    runs_without_error: bool = False
    coverage: float | None = None
    execution_time_ms: float = 0.0
    peak_memory_mb: float = 0.0
    side_effects: tuple[str, ...] = ()
    extra_outputs: tuple[str, ...] = ()
    error: str = ""
    stdout_tail: str = ""
    details: dict[str, Any] = field(default_factory=dict)
