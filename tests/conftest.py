"""Shared fixtures: one Prefect test harness per session, in a temporary PREFECT_HOME."""

from __future__ import annotations

import os
import sys
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

HARNESS = "prefect_harness"


@pytest.fixture(scope="session")
def prefect_harness():
    """A session-scoped Prefect server; request it in tests that run flows."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture(autouse=True)
def _prefect_server_only_when_asked(request: pytest.FixtureRequest, monkeypatch):
    """Once started, the session's harness sets ``PREFECT_API_URL`` for every later test.
    A test that did not ask for it runs as if no server were configured: otherwise shared
    (server-side) limits switch on and each provider call makes a round trip to the server
    (test_plan's property test took 91 s instead of 6), depending on the order tests run in.
    Tests about a configured server set a URL themselves."""
    if HARNESS in request.fixturenames or "prefect.settings" not in sys.modules:
        yield  # no harness can have started before Prefect was imported
        return
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from tasks.providers.shared_limits import OWN_SERVER_ENV

    monkeypatch.delenv(OWN_SERVER_ENV, raising=False)
    with temporary_settings(restore_defaults={PREFECT_API_URL}):
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
