"""Vivek's few error types.

    VivekError
    ├── UsageError          bad input from the user: exit code 2, one sentence, nothing written
    │   └── SuiteError      a malformed suite file (names the file, the task and the field)
    ├── ProviderError       a model call failed; ``kind`` says whether to retry
    └── SandboxError        the sandbox itself failed (infrastructure, never the model's fault)

Errors from SDKs and subprocesses are translated into these at the boundary
(``raise ... from exc``); nothing above that boundary catches bare ``Exception``
except the cell runners that turn any failure into a row.
"""

from __future__ import annotations

from typing import Literal

ErrorKind = Literal["rate_limit", "transient", "permanent"]


class VivekError(Exception):
    """Base class for every error Vivek raises on purpose."""


class UsageError(VivekError):
    """Bad input: an unknown provider, a malformed model string, a bad config key.

    The CLI prints ``str(error)`` alone and exits with code 2.
    """


class SuiteError(UsageError):
    """A suite file that cannot be loaded."""


class ProviderError(VivekError):
    """A model call that failed.

    Args:
        message: one line, safe to store (never contains a key).
        kind: ``rate_limit`` and ``transient`` are retried; ``permanent`` is not.
        retry_after: seconds the server asked us to wait, when it said so.
        status_code: the HTTP status, when there was one.
        unreachable: no connection could be made (refused, unknown host): if the
            provider was never reached in this run, its other cells fail at once.
    """

    def __init__(
        self,
        message: str,
        *,
        kind: ErrorKind = "transient",
        retry_after: float | None = None,
        status_code: int | None = None,
        unreachable: bool = False,
    ) -> None:
        super().__init__(message)
        self.unreachable = unreachable
        self.kind: ErrorKind = kind
        self.retry_after = retry_after
        self.status_code = status_code


class SandboxError(VivekError):
    """The sandbox could not run a job (bwrap missing when required, worker died)."""
