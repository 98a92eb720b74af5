"""Per-endpoint limits: at most N calls in flight, and optionally R requests per minute.

Calls whose providers share a ``concurrency_key`` (one API, or one local host)
share one limit. When a Prefect server is configured (``PREFECT_API_URL``), the
limits also live on the server (:mod:`tasks.providers.shared_limits`), so every run
and worker that calls one endpoint shares them. The in-process limits always apply
too: asyncio primitives belong to one event loop, so they are kept per running loop
and bound one process's calls only; without a server, or once it fails, they are all.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiolimiter import AsyncLimiter

from tasks.providers.base import Provider
from tasks.providers.shared_limits import (
    HeldSlot,
    PrefectLimits,
    burst,
    server_configured,
    shares_limits,
)

log = logging.getLogger("vivek.limits")

_Local = tuple[asyncio.Semaphore, AsyncLimiter | None]


class _LoopLimits:
    """Everything one event loop needs: its local primitives and its server limits."""

    def __init__(self) -> None:
        self.local: dict[str, _Local] = {}
        self.shared = PrefectLimits()


class Limiter:
    """``async with limiter.slot(provider): await provider.generate(...)``.

    Args:
        shared: use the Prefect server's limits; None (the default) means "when
            ``PREFECT_API_URL`` is set". Providers that answer in-process never do.
    """

    def __init__(self, shared: bool | None = None) -> None:
        self.shared = shared
        self.acquired: Counter[str] = Counter()  # "shared" / "local": slots taken each way
        self.fallback_reason: str | None = None  # why shared limits were given up, if they were
        self._per_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopLimits] = (
            weakref.WeakKeyDictionary()
        )

    def _loop_limits(self) -> _LoopLimits:
        return self._per_loop.setdefault(asyncio.get_running_loop(), _LoopLimits())

    def _limits(self, provider: Provider) -> _Local:
        """This loop's semaphore and rate limiter for the provider's endpoint."""
        limits = self._loop_limits().local
        key = provider.concurrency_key
        if key not in limits:
            # The first provider seen for a key sets its limits (they share one endpoint).
            config = provider.config
            rate = config.requests_per_minute
            # A bucket of one second's worth that refills at rate/60 per second, as on the server.
            size = burst(rate) if rate else 0
            limits[key] = (
                asyncio.Semaphore(max(1, config.max_concurrency)),
                AsyncLimiter(size, size * 60 / rate) if rate else None,
            )
        return limits[key]

    def uses_server(self, provider: Provider) -> bool:
        """Whether the next slot for ``provider`` comes from the Prefect server."""
        if self.fallback_reason is not None or not shares_limits(provider):
            return False
        if self.shared is None:
            self.shared = server_configured()
        return self.shared

    @asynccontextmanager
    async def slot(self, provider: Provider) -> AsyncIterator[None]:
        """Wait for a free slot (and a rate token), then hold the slot while the body runs.

        This process's own limits come first, so one run alone never waits on the
        server; the server's limits then bound all processes together. A server rate
        slot goes back one window after the call started: the caller waits for that
        outside this process's concurrency limit, so no release is pending when a run
        ends (a cancelled caller leaves it to run on its own).
        """
        semaphore, rate = self._limits(provider)
        held: HeldSlot | None = None
        cancelled = False
        try:
            async with semaphore:
                if rate is not None:
                    await rate.acquire()
                held = await self._server_slot(provider) if self.uses_server(provider) else None
                self.acquired["local" if held is None else "shared"] += 1
                if held is not None:
                    held.started()
                try:
                    yield
                finally:
                    if held is not None:
                        await held.finished()
        except asyncio.CancelledError:
            cancelled = True
            raise
        finally:
            if held is not None and held.rate is not None and not cancelled:
                await asyncio.shield(held.rate)

    def server_counts(self) -> dict[str, dict[str, int]]:
        """This loop's requests to each server limit: asked, refused, busy, handed over."""
        return self._loop_limits().shared.counts()

    async def _server_slot(self, provider: Provider) -> HeldSlot | None:
        """Held server slots, or None when the server failed (then never asked again)."""
        shared = self._loop_limits().shared
        try:
            return await shared.acquire(await shared.names(provider), provider.config)
        except Exception as exc:
            if self.fallback_reason is None:
                self.fallback_reason = f"{exc.__class__.__name__}: {exc}"[:300]
                log.warning(
                    "Shared limits on the Prefect server are unavailable (%s); "
                    "using per-process limits for the rest of this run.",
                    self.fallback_reason,
                )
            return None
