"""Limits shared by every process that talks to one Prefect server.

Each endpoint (a provider's ``concurrency_key``) gets two Prefect global concurrency
limits, created or updated to this run's config on first use, and each request holds
a slot of each (:mod:`tasks.providers.server_slots`: a lease per slot):

- ``vivek:<key>`` has ``max_concurrency`` slots, each held while a call is in flight;
- ``vivek:<key>:rpm-window``, when ``requests_per_minute`` is set, is a sliding window:
  ``burst(rpm)`` slots (one second's worth), each taken just before its request starts
  and free again ``window_s(rpm)`` seconds after it started. Two starts on one slot are
  then at least a window apart, so no window sees more starts than it has slots and no
  minute more than ``rpm`` (plus one window's slots if the minute is closed at both ends).

Prefect's own rate limits (slots that decay) are not used: Prefect 3.9.1 decays by the
time since the limit was last touched, rounded down, and every touch (refusals
included) restarts that clock, so a limit asked often hardly decays; two runs sharing
one got about a quarter of the allowed rate. Prefect's ``concurrency()`` is not used
either: a refusal waits a Retry-After that grows with refusals, and each holder starts
a lease-renewal thread.

The in-process limiter in :mod:`tasks.providers.limits` decides when to use these.
"""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass, field

from tasks.providers.base import Provider, ProviderConfig
from tasks.providers.server_slots import RECYCLE_S, Connection, Lease, ServerSlots

PREFIX = "vivek:"
_BANNED = str.maketrans(dict.fromkeys("/%&><", "_"))  # characters Prefect rejects in names
MIN_POLL_S = 0.05  # a refused process asks no more often than this
CONCURRENCY_POLL_S = 0.1  # calls end at any time


@dataclass(frozen=True)
class LimitNames:
    """The Prefect limits of one endpoint (``rate`` is None without requests_per_minute)."""

    concurrency: str
    rate: str | None = None


def limit_names(key: str, rate: bool) -> LimitNames:
    name = PREFIX + key.translate(_BANNED)
    return LimitNames(name, f"{name}:rpm-window" if rate else None)


def burst(requests_per_minute: float) -> int:
    """Requests allowed back to back: one second's worth, at least one."""
    return max(1, math.floor(requests_per_minute / 60))


def window_s(requests_per_minute: float) -> float:
    """How long each of the ``burst`` slots is held after its request starts."""
    return 60 * burst(requests_per_minute) / requests_per_minute


def poll_s(requests_per_minute: float) -> float:
    """How often a refused call asks the server again, on average.

    Short against the window (a slot another run gave back idles about half of this)
    but never below ``MIN_POLL_S``, which bounds what a waiting process sends.
    """
    window = window_s(requests_per_minute)
    return max(MIN_POLL_S, min(window / burst(requests_per_minute), window / 10))


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
    wanted = [(names.concurrency, max(1, config.max_concurrency))]
    if names.rate and rpm:
        wanted.append((names.rate, burst(rpm)))
    async with get_client() as client:
        for name, limit in wanted:
            # Decay 0 also turns back a limit someone set to decay: these slots are released.
            try:
                await client.upsert_global_concurrency_limit_by_name(name, limit, 0.0)
            except ObjectAlreadyExists:  # another process created it between read and create
                await client.upsert_global_concurrency_limit_by_name(name, limit, 0.0)
    return names


@dataclass
class HeldSlot:
    """A call's server slots: one in flight, and one in the rate window when it has one."""

    slots: ServerSlots
    lease: Lease
    window: ServerSlots | None = None
    window_lease: Lease | None = None
    window_s: float = 0.0
    rate: asyncio.Task[None] | None = field(default=None, init=False)

    def started(self) -> None:
        """The request starts now: its rate slot is free one window later."""
        if self.window and self.window_lease:
            self.rate = self.window.free_after(self.window_lease, self.window_s)

    async def finished(self) -> None:
        """The call is over: its in-flight slot is free now."""
        await self.slots.free_after(self.lease, 0)


class PrefectLimits:
    """Slots from the server's limits; one per event loop (its tasks belong to it)."""

    def __init__(self) -> None:
        self._setup: dict[str, asyncio.Future[LimitNames]] = {}
        self._slots: dict[str, ServerSlots] = {}
        self._connection = Connection()

    async def names(self, provider: Provider) -> LimitNames:
        """The endpoint's limits, set up once per key however many calls ask at once."""
        key = provider.concurrency_key
        if key not in self._setup:
            # The first provider seen for a key sets its limits (they share one endpoint).
            self._setup[key] = asyncio.ensure_future(ensure_limits(key, provider.config))
        return await asyncio.shield(self._setup[key])

    def slots(self, name: str, poll_s: float, lease_s: float) -> ServerSlots:
        """This loop's side of the limit ``name`` (made on first use)."""
        if name not in self._slots:
            self._slots[name] = ServerSlots(self._connection, name, poll_s, lease_s)
        return self._slots[name]

    def counts(self) -> dict[str, dict[str, int]]:
        return {
            name: {"asked": s.asked, "refused": s.refused, "busy": s.busy, "handed": s.handed}
            for name, s in self._slots.items()
        }

    async def acquire(self, names: LimitNames, config: ProviderConfig) -> HeldSlot:
        """Hold an in-flight slot, then take a rate slot: the request starts on the grant."""
        rpm = config.requests_per_minute
        window = None
        if names.rate and rpm:
            window = self.slots(names.rate, poll_s(rpm), 2 * (RECYCLE_S + window_s(rpm)))
        # In flight: waiting for a rate slot (this process's calls queue for one each),
        # then a call of at most timeout_s (the retry layer's deadline).
        waits_s = config.max_concurrency * 60 / rpm if rpm else 0.0
        slots = self.slots(
            names.concurrency, CONCURRENCY_POLL_S, 2 * (RECYCLE_S + waits_s + config.timeout_s)
        )
        lease = await slots.take()
        try:
            window_lease = await window.take() if window else None
        except BaseException:
            slots.free_after(lease, 0)
            raise
        return HeldSlot(slots, lease, window, window_lease, window_s(rpm) if rpm else 0.0)
