"""Provider tests run as if no Prefect server were configured.

The session's ``prefect_harness`` sets ``PREFECT_API_URL`` for every test that runs after
the first one that uses it, which would switch shared (server-side) limits on and make
these tests depend on the order they run in. Tests about shared limits set a URL themselves.
"""

from __future__ import annotations

import pytest
from prefect.settings import PREFECT_API_URL, temporary_settings

from tasks.providers.shared_limits import OWN_SERVER_ENV


@pytest.fixture(autouse=True)
def _no_prefect_server(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv(OWN_SERVER_ENV, raising=False)
    with temporary_settings(restore_defaults={PREFECT_API_URL}):
        yield
