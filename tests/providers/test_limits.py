"""Per-endpoint concurrency and rate limits (no clocks: events decide who runs)."""

from __future__ import annotations

import asyncio

import pytest

from tasks.providers.base import ProviderConfig
from tasks.providers.limits import Limiter
from tasks.providers.mock import MockProvider
from tasks.providers.ollama import OllamaProvider


async def run_gated(limiter: Limiter, providers: list, gate: asyncio.Event) -> tuple[list, list]:
    """Start one call per provider; each holds its slot until ``gate`` opens."""
    active: list[str] = []
    peak: list[int] = [0]

    async def call(provider) -> None:
        async with limiter.slot(provider):
            active.append(provider.model)
            peak[0] = max(peak[0], len(active))
            await gate.wait()
            active.remove(provider.model)

    tasks = [asyncio.create_task(call(p)) for p in providers]
    for _ in range(20):  # let every task run as far as it can
        await asyncio.sleep(0)
    running = list(active)
    gate.set()
    await asyncio.gather(*tasks)
    return running, peak


@pytest.mark.anyio
async def test_at_most_max_concurrency_per_key() -> None:
    config = ProviderConfig(max_concurrency=2)
    providers = [MockProvider(f"m{i}", config) for i in range(5)]
    running, peak = await run_gated(Limiter(), providers, asyncio.Event())
    assert len(running) == 2
    assert peak == [2]


@pytest.mark.anyio
async def test_different_keys_do_not_share_a_limit() -> None:
    one = ProviderConfig(max_concurrency=1)
    providers = [
        OllamaProvider("a", ProviderConfig(base_url="host-a", max_concurrency=1)),
        OllamaProvider("b", ProviderConfig(base_url="host-b", max_concurrency=1)),
        MockProvider("c", one),
        MockProvider("d", one),
    ]
    running, _ = await run_gated(Limiter(), providers, asyncio.Event())
    assert sorted(running) == ["a", "b", "c"]  # d waits behind c (both key "mock")


def test_rate_bucket_holds_one_seconds_worth() -> None:
    async def bucket(rpm: float) -> tuple[float, float]:
        _, rate = Limiter()._limits(MockProvider("m", ProviderConfig(requests_per_minute=rpm)))
        assert rate is not None
        return rate.max_rate, rate.max_rate / rate.time_period * 60

    assert asyncio.run(bucket(600)) == (10, 600)
    assert asyncio.run(bucket(90)) == (1, 90)


@pytest.mark.anyio
async def test_requests_per_minute_limiter() -> None:
    limiter = Limiter()
    provider = MockProvider("m", ProviderConfig(requests_per_minute=30))
    async with limiter.slot(provider):
        pass
    semaphore, rate = limiter._limits(provider)
    # One second's worth (at least one) in a bucket that refills at 30/60 per second.
    assert rate is not None and rate.max_rate == 1 and rate.time_period == 2
    assert MockProvider("n").concurrency_key == provider.concurrency_key
    assert limiter._limits(MockProvider("n"))[1] is rate  # shared by key
    assert limiter._limits(MockProvider("n", ProviderConfig()))[0] is semaphore


def test_limits_are_per_event_loop() -> None:
    limiter = Limiter()
    provider = MockProvider("m", ProviderConfig(max_concurrency=1))

    async def one() -> None:
        async with limiter.slot(provider):
            await asyncio.sleep(0)

    async def contended() -> None:  # the second call waits, which binds the semaphore's loop
        await asyncio.gather(one(), one())

    asyncio.run(contended())
    asyncio.run(contended())  # a fresh loop gets fresh primitives instead of a RuntimeError
