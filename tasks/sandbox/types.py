"""Records for the sandbox boundary: what to run, under which limits, and what came back."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Limits:
    """Resource limits for one sample (its import, its tests and its extra calls).

    ``cpu_s`` is CPU time of every process the sample starts, together, so a busy
    machine does not turn passes into timeouts and a solution cannot spread its work
    over child processes; ``wall_s`` only catches programs that sleep or block. The
    defaults here are the only ones: ``tasks.config.SandboxSettings`` takes them.
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
class Exports:
    """What the tests see of the solution, decided by the task, never by the solution.

    ``bind``: names the tests get as proxies (``from solution import *`` gives these
    and nothing else); ``classes``: those of them that are classes whose instances may
    stay behind handles; ``imports``: (name, module, attribute or None) the tester binds
    from its own imports (what the prompt imports, e.g. ``List`` from ``typing``).
    """

    bind: tuple[str, ...] = ()
    classes: tuple[str, ...] = ()
    imports: tuple[tuple[str, str, str | None], ...] = ()


@dataclass(frozen=True)
class Job:
    """One sample to run: the candidate module, the task's tests and differential calls.

    ``tests`` None: no tests, only ``calls`` (a reference's outputs). ``calls`` are
    Python call expressions (``"add(1, 2)"``) with literal arguments; they run in the
    solution's process as one batch, after the tests and only if every test passed (or
    when there are no tests); the ``repr`` of each result (or ``"!ExcType"``) comes back
    in ``ExecResult.call_outputs``.
    """

    code: str
    tests: str | None
    exports: Exports | None = None  # None: from the tests alone (names they import)
    calls: tuple[str, ...] = ()
    # The first ``full_outputs`` call outputs come back whole (expected values, not
    # compared reprs, which are cut at 2,000 characters).
    full_outputs: int = 0
    measure_coverage: bool = True
    # A tighter CPU-time limit for this job (calibrated to the task's reference); never
    # looser than the sandbox's own ``Limits.cpu_s``.
    cpu_s: float | None = None


@dataclass(frozen=True)
class ExecResult:
    """The verdict on one job, decided outside the generated code's reach (None: not measured).

    status: pass | fail | error | module_error | timeout | oom | suite_error |
    sandbox_error (``tasks.record.types.STATUS_MEANINGS``). ``runs_without_error``: the
    module loaded and no test got an exception from the solution's own code.
    ``execution_time_ms``: CPU time of every process the sample started, from the
    solution's fork to its end (module load and serving included), measured by the
    worker; ``peak_memory_mb``: the solution process's peak RSS over its RSS at birth.
    ``coverage`` is self-reported by the solution's process (``details["self_reported"]``).
    ``call_outputs``: None when the calls did not run (a test did not pass, or none asked).
    ``clean``: the tester ended normally within its limits (only clean verdicts are cached).
    ``retried``/``first_status``: the job hit a limit (or the sandbox failed) and was run
    again once, alone and without coverage; the second verdict stands.
    """

    status: str
    tests_total: int | None = None
    tests_passed: int | None = None
    tests_failed: int | None = None
    runs_without_error: bool | None = None
    coverage: float | None = None
    execution_time_ms: float | None = None
    peak_memory_mb: float | None = None
    side_effects: tuple[str, ...] = ()
    call_outputs: tuple[str, ...] | None = None
    error: str = ""
    stdout_tail: str = ""
    clean: bool = False
    retried: bool = False
    first_status: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
