"""The fake HTTP server of the provider tests (one respx router) and the recording sleep."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import respx
from respx.mocks import Mocker

import tests.providers.httpx2_respx  # noqa: F401  (registers respx's "httpx2" mocker)
from tests.providers.fakes import RecordingSleep, install_sleep


@pytest.fixture
def api() -> Iterator[respx.MockRouter]:
    """One respx router for every provider's HTTP: the openai and anthropic SDKs send
    through httpx2, Ollama and the rest through httpx. Unrouted requests fail."""
    plain = Mocker.registry["httpx"]
    with respx.mock(using="httpx2") as router:
        plain.register(router)
        plain.start()
        try:
            yield router
        finally:
            plain.unregister(router)
            plain.stop()


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> RecordingSleep:
    """The retry layer's sleep, recording each delay and returning at once."""
    return install_sleep(monkeypatch)
