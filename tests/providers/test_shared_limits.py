"""Shared limits without a real server: when they apply, the window, hand-over, fallback.

``FakePrefect`` answers the two requests :class:`Connection` sends (its one HTTP
method, ``post``) as Prefect's slot endpoints do: a lease per slot, 423 when every
slot is held. Two ``Limiter`` objects in one event loop stand for two runs: each has
its own client side (connection, waiting call, hand-over) and they share the fake.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import Counter
from dataclasses import dataclass

import httpx
import pytest
from prefect.settings import PREFECT_API_URL, PREFECT_CLIENT_MAX_RETRIES, temporary_settings

from tasks.providers import server_slots, shared_limits
from tasks.providers.base import ProviderConfig
from tasks.providers.limits import Limiter
from tasks.providers.mock import MockProvider
from tasks.providers.ollama import OllamaProvider
from tasks.providers.server_slots import Connection
from tasks.providers.shared_limits import (
    LimitNames,
    burst,
    limit_names,
    poll_s,
    window_s,
)

pytestmark = pytest.mark.anyio


def ollama(model: str = "m", **config) -> OllamaProvider:
    return OllamaProvider(model, ProviderConfig(base_url="http://gpu-box:11434", **config))


def test_names_come_from_the_concurrency_key_without_banned_characters() -> None:
    assert limit_names("openai", rate=False) == LimitNames("vivek:openai", None)
    assert limit_names("llamacpp:/m/a.gguf", rate=True) == LimitNames(
        "vivek:llamacpp:_m_a.gguf", "vivek:llamacpp:_m_a.gguf:rpm-window"
    )


def test_the_window_holds_one_seconds_worth_and_lets_rpm_through_per_minute() -> None:
    assert [burst(30), burst(60), burst(600), burst(6000)] == [1, 1, 10, 100]
    assert [window_s(30), window_s(60), window_s(600), window_s(90)] == [2, 1, 1, 60 / 90]
    for rpm in (1, 30, 90, 500, 600, 6000):
        assert burst(rpm) * 60 / window_s(rpm) == pytest.approx(rpm)  # slots per window = rpm
        assert server_slots.MIN_LEASE_S > 0 and 0 < poll_s(rpm) <= max(0.05, window_s(rpm) / 10)


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


@dataclass
class Limit:
    limit: int
    active: int = 0
    peak: int = 0


class FakePrefect:
    """Prefect's slot endpoints in memory; ``busy`` answers that many asks with 503."""

    def __init__(self) -> None:
        self.limits: dict[str, Limit] = {}
        self.leases: dict[str, str] = {}  # lease id -> limit name
        self.setups: list[str] = []
        self.calls: Counter[str] = Counter()
        self.granted: Counter[str] = Counter()  # leases, per limit
        self.busy = 0
        self.fail_release = False

    async def ensure(self, key: str, config: ProviderConfig) -> LimitNames:
        self.setups.append(key)
        await asyncio.sleep(0)  # let every caller ask while the set-up is pending
        rpm = config.requests_per_minute
        names = limit_names(key, rate=bool(rpm))
        self.limits.setdefault(names.concurrency, Limit(config.max_concurrency))
        if names.rate and rpm:
            self.limits.setdefault(names.rate, Limit(burst(rpm)))
        return names

    async def post(self, path: str, body: dict) -> httpx.Response:
        request = httpx.Request("POST", f"http://prefect.test/api{path}")
        kind = path.rsplit("/", 1)[-1]
        self.calls[kind] += 1
        if kind == "increment-with-lease":
            limit = self.limits[body["names"][0]]
            if self.busy:
                self.busy -= 1
                return self._error(503, request)
            if limit.active + body["slots"] > limit.limit:
                return self._error(423, request)
            limit.active += 1
            limit.peak = max(limit.peak, limit.active)
            lease = str(uuid.uuid4())
            self.leases[lease] = body["names"][0]
            self.granted[body["names"][0]] += 1
            return httpx.Response(200, json={"lease_id": lease, "limits": [{}]}, request=request)
        if self.fail_release:
            return self._error(500, request)
        self.limits[self.leases.pop(body["lease_id"])].active -= 1
        return httpx.Response(204, request=request)

    @staticmethod
    def _error(status: int, request: httpx.Request) -> httpx.Response:
        response = httpx.Response(status, request=request)
        raise httpx.HTTPStatusError(f"{status}", request=request, response=response)


@pytest.fixture
def fake(monkeypatch) -> FakePrefect:
    server = FakePrefect()
    monkeypatch.setattr(shared_limits, "ensure_limits", server.ensure)

    async def no_client(self) -> None:
        self._users += 1

    monkeypatch.setattr(Connection, "open", no_client)
    monkeypatch.setattr(Connection, "post", lambda self, path, body: server.post(path, body))
    return server


async def test_limits_are_set_up_once_per_key_however_many_calls_ask(fake) -> None:
    limiter = Limiter(shared=True)

    async def call(provider) -> None:
        async with limiter.slot(provider):
            await asyncio.sleep(0)

    await asyncio.gather(*(call(ollama(f"m{i}")) for i in range(6)))  # one host, one key
    assert fake.setups == [ollama().concurrency_key]
    assert limiter.acquired == {"shared": 6}
    assert [limit.active for limit in fake.limits.values()] == [0]  # every slot went back


async def test_two_runs_hold_no_more_than_the_shared_limit_in_flight(fake) -> None:
    runs, provider = [Limiter(shared=True), Limiter(shared=True)], ollama(max_concurrency=2)

    async def call(limiter: Limiter) -> None:
        async with limiter.slot(provider):
            await asyncio.sleep(0.01)

    await asyncio.gather(*(call(run) for run in runs for _ in range(6)))
    (limit,) = fake.limits.values()
    assert limit.peak == 2 and limit.active == 0
    assert [run.acquired for run in runs] == [{"shared": 6}] * 2


async def test_two_runs_share_the_rate_window_and_get_the_rate_through(fake) -> None:
    """Two starts on one rate slot are a window apart; together the runs get >= 0.8 of it.

    Fake requests take no time, so the only loss is the event loop's lateness: a slot
    freed when its window ends goes to the waiting call in the same timer callback. To
    fall below 0.8 the process would have to lose a quarter of every second on a
    machine that lets it run at all; the real server's round trips are in the bench.
    """
    rpm, calls = 6000.0, 100  # 100 slots, a 1 s window; 200 calls = 2 windows' worth
    runs = [Limiter(shared=True), Limiter(shared=True)]
    provider = ollama(max_concurrency=100, requests_per_minute=rpm)
    loop, starts = asyncio.get_running_loop(), []

    async def call(limiter: Limiter) -> None:
        async with limiter.slot(provider):
            starts.append(loop.time())

    await asyncio.gather(*(call(run) for run in runs for _ in range(calls)))
    starts.sort()
    slots, window = burst(rpm), window_s(rpm)
    in_any_window = max(
        sum(1 for t in starts[i:] if t < start + window) for i, start in enumerate(starts)
    )
    assert in_any_window == slots  # never more, and the first window is full
    # The first window's starts are free; each later window's are what the limit lets through.
    achieved = (len(starts) - slots) / (starts[-1] - starts[0])
    assert achieved >= 0.8 * rpm / 60
    assert [limit.active for limit in fake.limits.values()] == [0, 0]
    assert sum(run.acquired["shared"] for run in runs) == 2 * calls


async def test_a_freed_slot_goes_to_a_waiting_call_and_back_to_the_server_when_old(
    fake, monkeypatch
) -> None:
    rpm = 119.0  # one slot, a window of about half a second
    provider = ollama(max_concurrency=2, requests_per_minute=rpm)
    rate = limit_names(provider.concurrency_key, rate=True).rate

    async def two_calls() -> list[float]:
        limiter, loop, starts = Limiter(shared=True), asyncio.get_running_loop(), []

        async def call() -> None:
            async with limiter.slot(provider):
                starts.append(loop.time())

        await asyncio.gather(call(), call())
        return starts

    starts = await two_calls()
    assert starts[1] - starts[0] >= window_s(rpm)
    assert fake.granted[rate] == 1  # the second call got the first one's slot, handed over
    monkeypatch.setattr(server_slots, "RECYCLE_S", 0.0)  # every slot is too old to hand over
    fake.granted.clear()
    starts = await two_calls()
    assert starts[1] - starts[0] >= window_s(rpm)
    assert fake.granted[rate] == 2  # it went back to the server and was asked for again
    assert [limit.active for limit in fake.limits.values()] == [0, 0]


async def test_a_busy_server_is_asked_again_not_given_up(fake) -> None:
    fake.busy = 3  # SQLite's "database is locked" comes back as 503
    limiter = Limiter(shared=True)
    async with limiter.slot(ollama()):
        pass
    assert limiter.acquired == {"shared": 1} and limiter.fallback_reason is None
    assert fake.calls["increment-with-lease"] == 4


async def test_a_cancelled_waiting_call_leaves_no_slot_held(fake) -> None:
    limiter, provider, gate = Limiter(shared=True), ollama(max_concurrency=1), asyncio.Event()

    async def call() -> None:
        async with limiter.slot(provider):
            await gate.wait()

    holder = asyncio.create_task(call())
    waiters = [asyncio.create_task(call()) for _ in range(2)]
    while limiter.acquired["shared"] < 1:
        await asyncio.sleep(0.01)
    waiters[0].cancel()  # waiting for the one slot, or for its turn to ask
    gate.set()
    await asyncio.gather(holder, *waiters, return_exceptions=True)
    assert waiters[0].cancelled() and limiter.acquired == {"shared": 2}
    for _ in range(10):  # releases run in their own tasks
        await asyncio.sleep(0)
    assert [limit.active for limit in fake.limits.values()] == [0]


async def test_a_failed_release_does_not_fail_the_call(fake, caplog) -> None:
    fake.fail_release = True
    limiter = Limiter(shared=True)
    async with limiter.slot(ollama()):
        result = "generated"
    assert result == "generated" and limiter.fallback_reason is None
    assert "lease will expire" in caplog.text


async def test_the_body_error_is_not_mistaken_for_a_server_failure(fake) -> None:
    limiter = Limiter(shared=True)
    with pytest.raises(KeyError):
        async with limiter.slot(ollama()):
            raise KeyError("provider bug")
    assert limiter.fallback_reason is None
    assert [limit.active for limit in fake.limits.values()] == [0]


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
