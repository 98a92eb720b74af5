"""Shared limits without a server: when they apply, set-up once per key, fallback, release."""

from __future__ import annotations

import asyncio
import logging
from contextlib import AsyncExitStack

import pytest
from prefect.settings import PREFECT_API_URL, PREFECT_CLIENT_MAX_RETRIES, temporary_settings

from tasks.providers import shared_limits
from tasks.providers.base import ProviderConfig
from tasks.providers.limits import Limiter
from tasks.providers.mock import MockProvider
from tasks.providers.ollama import OllamaProvider
from tasks.providers.shared_limits import LimitNames, PrefectLimits, burst, limit_names

pytestmark = pytest.mark.anyio


def ollama(model: str = "m", **config) -> OllamaProvider:
    return OllamaProvider(model, ProviderConfig(base_url="http://gpu-box:11434", **config))


def test_names_come_from_the_concurrency_key_without_banned_characters() -> None:
    assert limit_names("openai", rate=False) == LimitNames("vivek:openai", None)
    assert limit_names("llamacpp:/m/a.gguf", rate=True) == LimitNames(
        "vivek:llamacpp:_m_a.gguf", "vivek:llamacpp:_m_a.gguf:rpm"
    )
    assert [burst(30), burst(60), burst(600), burst(6000)] == [1, 1, 10, 100]


async def test_without_a_server_url_slots_are_local() -> None:
    limiter = Limiter()
    async with limiter.slot(ollama()):
        pass
    assert limiter.shared is False and limiter.acquired == {"local": 1}


async def test_a_server_url_switches_shared_limits_on_for_endpoints_only() -> None:
    with temporary_settings({PREFECT_API_URL: "http://127.0.0.1:9/api"}):
        assert Limiter().uses_server(ollama())
        assert not Limiter().uses_server(MockProvider("m"))  # answers in-process
    assert not Limiter(shared=False).uses_server(ollama())


class FakeServer:
    """Stands in for PrefectLimits: counts set-ups, records slots held."""

    def __init__(self, fail_release: bool = False) -> None:
        self.setups: list[str] = []
        self.held = 0
        self.fail_release = fail_release

    async def ensure(self, key: str, config: ProviderConfig) -> LimitNames:
        self.setups.append(key)
        await asyncio.sleep(0)  # let every caller ask while the set-up is pending
        return limit_names(key, rate=bool(config.requests_per_minute))

    async def acquire(self, names: LimitNames) -> AsyncExitStack:
        self.held += 1
        stack = AsyncExitStack()

        async def release() -> None:
            self.held -= 1
            if self.fail_release:
                raise ConnectionError("server went away")

        stack.push_async_callback(release)
        return stack


@pytest.fixture
def fake_server(monkeypatch) -> FakeServer:
    server = FakeServer()
    monkeypatch.setattr(shared_limits, "ensure_limits", server.ensure)
    monkeypatch.setattr(PrefectLimits, "acquire", server.acquire)
    return server


async def test_limits_are_set_up_once_per_key_however_many_calls_ask(fake_server) -> None:
    limiter = Limiter(shared=True)

    async def call(provider) -> None:
        async with limiter.slot(provider):
            await asyncio.sleep(0)

    await asyncio.gather(*(call(ollama(f"m{i}")) for i in range(6)))  # one host, one key
    assert fake_server.setups == [ollama().concurrency_key]
    assert limiter.acquired == {"shared": 6} and fake_server.held == 0


async def test_a_process_asks_the_server_for_no_more_than_its_own_limit(fake_server) -> None:
    limiter, peak = Limiter(shared=True), [0]

    async def call() -> None:
        async with limiter.slot(ollama(max_concurrency=2)):
            peak[0] = max(peak[0], fake_server.held)
            await asyncio.sleep(0)

    await asyncio.gather(*(call() for _ in range(6)))
    assert peak == [2] and limiter.acquired == {"shared": 6}


async def test_a_failed_release_does_not_fail_the_call(fake_server, caplog) -> None:
    fake_server.fail_release = True
    limiter = Limiter(shared=True)
    async with limiter.slot(ollama()):
        result = "generated"
    assert result == "generated" and fake_server.held == 0
    assert "lease will expire" in caplog.text


async def test_the_body_error_is_not_mistaken_for_a_server_failure(fake_server) -> None:
    limiter = Limiter(shared=True)
    with pytest.raises(KeyError):
        async with limiter.slot(ollama()):
            raise KeyError("provider bug")
    assert limiter.fallback_reason is None and fake_server.held == 0


async def test_an_unreachable_server_falls_back_to_local_limits_logged_once(caplog) -> None:
    caplog.set_level(logging.WARNING, logger="vivek.limits")
    limiter = Limiter(shared=True)
    provider = ollama(max_concurrency=2)
    active, peak = [0], [0]
    gate = asyncio.Event()

    async def call() -> None:
        async with limiter.slot(provider):
            active[0] += 1
            peak[0] = max(peak[0], active[0])
            await gate.wait()
            active[0] -= 1

    # Port 9 (discard) is closed on loopback: every server call fails at once.
    with temporary_settings(
        {PREFECT_API_URL: "http://127.0.0.1:9/api", PREFECT_CLIENT_MAX_RETRIES: 0}
    ):
        tasks = [asyncio.create_task(call()) for _ in range(5)]
        while limiter.acquired["local"] < 2:
            await asyncio.sleep(0.01)
        for _ in range(20):  # give the other three every chance to get in
            await asyncio.sleep(0)
        assert active[0] == 2
        gate.set()
        await asyncio.gather(*tasks)
    assert peak == [2] and limiter.acquired == {"local": 5}
    assert limiter.fallback_reason and not limiter.uses_server(provider)
    warnings = [r for r in caplog.records if r.name == "vivek.limits"]
    assert len(warnings) == 1 and "per-process limits" in warnings[0].getMessage()
