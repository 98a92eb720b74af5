"""Limits shared by every process that talks to one Prefect server.

Each endpoint (a provider's ``concurrency_key``) gets Prefect global concurrency
limits, created or updated to this run's config on first use:

- ``vivek:<key>`` holds ``max_concurrency`` slots, one per call in flight
  (``prefect.concurrency.asyncio.concurrency``, with a lease the server expires
  if a process dies holding it);
- ``vivek:<key>:rpm``, when ``requests_per_minute`` is set, is a rate limit
  (``rate_limit``): its slots decay at ``rpm / 60`` per second and it holds one
  second's worth, so no minute ever sees more than ``rpm`` plus that burst.

The in-process limiter in :mod:`tasks.providers.limits` decides when to use these.
"""

from __future__ import annotations

import asyncio
import math
from contextlib import AsyncExitStack
from dataclasses import dataclass

from tasks.providers.base import Provider, ProviderConfig

PREFIX = "vivek:"
_BANNED = str.maketrans(dict.fromkeys("/%&><", "_"))  # characters Prefect rejects in names


@dataclass(frozen=True)
class LimitNames:
    """The Prefect limits of one endpoint (``rate`` is None without requests_per_minute)."""

    concurrency: str
    rate: str | None = None


def limit_names(key: str, rate: bool) -> LimitNames:
    name = PREFIX + key.translate(_BANNED)
    return LimitNames(name, f"{name}:rpm" if rate else None)


def burst(requests_per_minute: float) -> int:
    """Requests allowed back to back: one second's worth, at least one."""
    return max(1, math.floor(requests_per_minute / 60))


def shares_limits(provider: Provider) -> bool:
    """Whether the provider calls an endpoint that other processes may call too."""
    return bool(getattr(provider, "shared_limits", True))


# Set by ``flows.server`` when Vivek points Prefect at a server it started itself: its limits
# would outlive a killed run's slots, and only one machine's runs use it anyway.
OWN_SERVER_ENV = "VIVEK_OWN_SERVER"


def server_configured() -> bool:
    """True when the user configured a Prefect server (``PREFECT_API_URL``), not Vivek."""
    import os

    from prefect.settings import get_current_settings

    if os.environ.get(OWN_SERVER_ENV) == "1":
        return False
    return bool(get_current_settings().api.url)


async def ensure_limits(key: str, config: ProviderConfig) -> LimitNames:
    """Create (or update to ``config``) the endpoint's limits on the server."""
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectAlreadyExists

    rpm = config.requests_per_minute
    names = limit_names(key, rate=bool(rpm))
    wanted: list[tuple[str, int, float | None]] = [
        (names.concurrency, max(1, config.max_concurrency), None)
    ]
    if names.rate and rpm:
        wanted.append((names.rate, burst(rpm), rpm / 60))
    async with get_client() as client:
        for name, limit, decay in wanted:
            try:
                await client.upsert_global_concurrency_limit_by_name(name, limit, decay)
            except ObjectAlreadyExists:  # another process created it between read and create
                await client.upsert_global_concurrency_limit_by_name(name, limit, decay)
    return names


class PrefectLimits:
    """Slots from the server's limits; one per event loop (its setup tasks belong to it)."""

    def __init__(self) -> None:
        self._setup: dict[str, asyncio.Future[LimitNames]] = {}

    async def names(self, provider: Provider) -> LimitNames:
        """The endpoint's limits, set up once per key however many calls ask at once."""
        key = provider.concurrency_key
        if key not in self._setup:
            # The first provider seen for a key sets its limits (they share one endpoint).
            self._setup[key] = asyncio.ensure_future(ensure_limits(key, provider.config))
        return await asyncio.shield(self._setup[key])

    async def acquire(self, names: LimitNames) -> AsyncExitStack:
        """Hold a concurrency slot, then take a rate slot; close the stack to release."""
        from prefect.concurrency.asyncio import concurrency, rate_limit

        stack = AsyncExitStack()
        try:
            await stack.enter_async_context(
                concurrency(names.concurrency, strict=True, raise_on_lease_renewal_failure=False)
            )
            if names.rate:
                await rate_limit(names.rate, strict=True)
        except BaseException:
            await stack.aclose()
            raise
        return stack
