"""Per-endpoint limits: at most N calls in flight, and optionally R requests per minute.

Calls whose providers share a ``concurrency_key`` (one API, or one local host)
share one limit. asyncio primitives belong to one event loop, so limits are kept
per running loop: they bound the calls of one process's loop, not a whole cluster.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiolimiter import AsyncLimiter

from tasks.providers.base import Provider


class Limiter:
    """``async with limiter.slot(provider): await provider.generate(...)``."""

    def __init__(self) -> None:
        self._per_loop: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, dict[str, tuple[asyncio.Semaphore, AsyncLimiter | None]]
        ] = weakref.WeakKeyDictionary()

    def _limits(self, provider: Provider) -> tuple[asyncio.Semaphore, AsyncLimiter | None]:
        limits = self._per_loop.setdefault(asyncio.get_running_loop(), {})
        key = provider.concurrency_key
        if key not in limits:
            # The first provider seen for a key sets its limits (they share one endpoint).
            config = provider.config
            rate = config.requests_per_minute
            limits[key] = (
                asyncio.Semaphore(max(1, config.max_concurrency)),
                AsyncLimiter(rate, 60) if rate else None,
            )
        return limits[key]

    @asynccontextmanager
    async def slot(self, provider: Provider) -> AsyncIterator[None]:
        """Wait for a free slot (and a rate token), then hold the slot while the body runs."""
        semaphore, rate = self._limits(provider)
        async with semaphore:
            if rate is not None:
                await rate.acquire()
            yield
