"""Shared fixtures: one Prefect test harness per session, in a temporary PREFECT_HOME."""

from __future__ import annotations

import os
import tempfile

# Before Prefect is imported anywhere: offline, patient, isolated.
_HOME = tempfile.mkdtemp(prefix="vivek-prefect-home-")
os.environ["PREFECT_HOME"] = _HOME
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
# `vivek eval` subprocesses use Prefect's temporary server, not a shared background one.
os.environ.setdefault("VIVEK_SERVER", "ephemeral")

import pytest  # noqa: E402


@pytest.fixture(scope="session")
def prefect_harness():
    """A session-scoped Prefect server; request it in tests that run flows."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture
def anyio_backend():
    return "asyncio"


@pytest.fixture(autouse=True)
def _no_retry_sleep(monkeypatch):
    """Retry delays are zero in tests (the one retry layer reads this hook)."""
    try:
        from tasks.providers import retry
    except ImportError:
        return

    async def no_sleep(_seconds: float) -> None:
        return None

    monkeypatch.setattr(retry, "default_sleep", no_sleep)
