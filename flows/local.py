"""What a local caller (the CLI) hands to the flow it runs in-process: the plan it has
already validated and a listener for its progress bar, scoped to that call."""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar

from tasks.run.plan import Plan, ProgressListener

PLAN: ContextVar[Plan | None] = ContextVar("vivek_local_plan", default=None)
PROGRESS: ContextVar[ProgressListener | None] = ContextVar("vivek_local_progress", default=None)
# Called with the flow run's id as soon as it starts: an interrupted caller can then mark
# that run Cancelled (Prefect itself would leave it Crashed).
STARTED: ContextVar[Callable[[str], None] | None] = ContextVar("vivek_local_started", default=None)
