"""Two concurrent runs, one real Prefect server: the limits hold across processes.

Each run is its own process driving ``Limiter`` + the openai-compatible provider
against one loopback model server that records when each request arrives and
leaves, and each run records when its calls got their slots. Counts only: requests in
flight (at the model server), and grants between any two grants.
"""

from __future__ import annotations

import asyncio

import pytest

from bench.shared_rate import Shape, measure, peak_in_flight, prefect_server
from tasks.providers.shared_limits import burst, limit_names

pytestmark = [pytest.mark.deployment, pytest.mark.slow]

SHAPE = Shape(runs=2, calls=6, max_concurrency=2, requests_per_minute=120, delay_s=0.3)


def read_limits(api_url: str, names: list[str]) -> dict:
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings

    async def main() -> dict:
        with temporary_settings({PREFECT_API_URL: api_url}):
            async with get_client() as client:
                return {n: await client.read_global_concurrency_limit_by_name(n) for n in names}

    return asyncio.run(main())


def over_the_rate(starts: list[float], rpm: float) -> list[tuple[int, float]]:
    """(arrivals, seconds) for every run of arrivals that the limit would not allow.

    A bucket of ``burst(rpm)`` refilling at rpm/60 per second allows at most
    burst + rpm/60 * t arrivals in t seconds; one more is allowed for the jitter
    between the Prefect server granting a slot and the run seeing the grant.
    """
    starts, per_s = sorted(starts), rpm / 60
    return [
        (j - i + 1, starts[j] - starts[i])
        for i in range(len(starts))
        for j in range(i, len(starts))
        if j - i + 1 > burst(rpm) + per_s * (starts[j] - starts[i]) + 1
    ]


def test_two_runs_share_one_concurrency_and_one_rate_limit(tmp_path):
    with prefect_server(tmp_path) as api_url:
        m = measure(api_url, SHAPE, tmp_path / "measure")
        key = f"openai-compatible:127.0.0.1:{m['model_port']}"
        names = limit_names(key, rate=True)
        limits = read_limits(api_url, [names.concurrency, names.rate])
    for run in m["runs"]:
        assert run["fallback"] is None and run["errors"] == []
        assert run["ok"] == SHAPE.calls and run["acquired"] == {"shared": SHAPE.calls}
    assert m["requests"] == SHAPE.runs * SHAPE.calls
    assert peak_in_flight(m["spans"]) <= SHAPE.max_concurrency
    granted = [t for run in m["runs"] for t in run["granted"]]
    assert len(granted) == m["requests"]
    assert over_the_rate(granted, SHAPE.requests_per_minute) == []
    slots, rate = limits[names.concurrency], limits[names.rate]
    assert slots.limit == SHAPE.max_concurrency and slots.active_slots == 0  # all released
    assert rate.limit == burst(SHAPE.requests_per_minute) and rate.slot_decay_per_second == 0
    assert rate.active_slots == 0  # every run handed its rate slots back before it ended


def test_the_rate_check_catches_two_unshared_runs():
    # Two runs each using its own bucket of 2 at 2/s: 4 arrivals at once, 8 in the first second.
    alone = [0.0, 0.0, 0.5, 1.0]
    both = sorted(alone + alone)
    assert over_the_rate(alone, 120) == []
    assert (4, 0.0) in over_the_rate(both, 120)
    assert peak_in_flight([(0.0, 0.3), (0.0, 0.3), (0.3, 0.6)]) == 2  # leaving frees the place
