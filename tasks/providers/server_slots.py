"""A Prefect global concurrency limit held one lease per request, by several processes.

Each process asks the server for a slot (``increment-with-lease``) and says when it is
free again. Between the two the slot is this process's: when one comes free while a
call of this process waits, it is handed to that call without asking the server, until
the lease is ``RECYCLE_S`` old; then it goes back to the server (``decrement-with-lease``),
where every process's waiting call asks for it again. That keeps two server writes per
lease, not per request: Prefect's SQLite server answers 503 ("database is locked") to
concurrent writes, and each write that failed or waited left a slot idle.

One waiting call per process asks the server at a time; refused, it asks again after
``poll_s`` (jittered, so processes do not ask in step), or ``HOLDING_POLL`` times that
while the process holds slots of its own, which come to it anyway: a run without
any asks more often and gets more of the slots that go back to the server. A lease
outlasts its use, so the slots of a process that dies come back when the server's
repossessor expires them.
"""

from __future__ import annotations

import asyncio
import logging
import random
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from uuid import UUID

if TYPE_CHECKING:
    import httpx
    from prefect.client.orchestration import PrefectClient

MIN_LEASE_S, MAX_LEASE_S = 60.0, 86400.0  # the leases Prefect grants
RECYCLE_S = 10.0  # a slot older than this goes back to the server, where others can get it
HOLDING_POLL = 4  # a process holding slots gets them handed over: it asks the server less
BUSY_STATUSES = frozenset({408, 429, 502, 503})  # the statuses Prefect's client retries
BUSY_FOR_S = 30.0  # how long a busy server is asked again before the run gives up on it

log = logging.getLogger("vivek.limits")


def busy(exc: BaseException) -> bool:
    """A failure worth asking again soon: a busy server or a dropped connection.

    Connecting at all is not retried: a server that was never reached is down, and
    the caller falls back to per-process limits.
    """
    import httpx

    if isinstance(exc, httpx.HTTPStatusError):
        return exc.response.status_code in BUSY_STATUSES
    return isinstance(exc, httpx.TransportError) and not isinstance(
        exc, httpx.ConnectError | httpx.ConnectTimeout
    )


class Connection:
    """One Prefect client per event loop, open while any lease is asked for or held.

    A client per request costs a connection and tens of milliseconds on a loaded
    machine; one kept for good would never be closed.
    """

    def __init__(self) -> None:
        self._client: PrefectClient | None = None
        self._users = 0
        self._opening = asyncio.Lock()

    async def open(self) -> None:
        """Open the client if it is not; pair every call with one :meth:`close`."""
        from prefect.client.orchestration import get_client

        self._users += 1
        try:
            async with self._opening:
                if self._client is None:
                    client = get_client()
                    await client.__aenter__()
                    self._client = client
        except BaseException:
            await self.close()
            raise

    async def post(self, path: str, body: dict[str, Any]) -> httpx.Response:
        """POST to the open client's API once, without the client's retries.

        Prefect's client sleeps 2 s, 4 s, ... after a 503 (even with retries set to 0
        it sleeps once before giving up); :class:`ServerSlots` asks again sooner itself.
        The client's httpx client carries the API's address and auth headers.
        """
        import httpx

        assert self._client is not None  # opened by every caller
        http = self._client._client
        response = await httpx.AsyncClient.send(http, http.build_request("POST", path, json=body))
        response.raise_for_status()
        return response

    async def close(self) -> None:
        self._users -= 1
        if self._users == 0 and self._client is not None:
            client, self._client = self._client, None
            await client.__aexit__(None, None, None)


@dataclass(frozen=True)
class Lease:
    """A slot held on the server, and when the server granted it (loop time)."""

    id: UUID
    granted: float


class ServerSlots:
    """This event loop's side of one limit on the server.

    Args:
        name: the Prefect global concurrency limit (it must not decay).
        poll_s: how long a refused call waits before asking again, on average.
        lease_s: how long the server keeps a slot whose holder went silent; longer
            than a slot is ever held (``RECYCLE_S`` plus its longest use).
    """

    def __init__(self, connection: Connection, name: str, poll_s: float, lease_s: float) -> None:
        self.name, self.poll_s = name, poll_s
        self.lease_s = min(max(MIN_LEASE_S, lease_s), MAX_LEASE_S)
        self.asked = self.refused = self.busy = self.handed = 0  # counts, for the bench
        self.held = 0  # leases granted to this process and not yet given back
        self._connection = connection
        self._turn = asyncio.Lock()  # held by the call that asks the server
        self._asking: asyncio.Future[Lease] | None = None  # a freed slot goes here first
        self._finishing: set[asyncio.Task[None]] = set()  # the loop holds tasks weakly

    async def take(self) -> Lease:
        """A slot: handed over by a call of this process, or granted by the server."""
        await self._connection.open()  # each lease keeps the client open until it goes back
        try:
            async with self._turn:
                return await self._take()
        except BaseException:
            await self._connection.close()
            raise

    async def _take(self) -> Lease:
        loop = asyncio.get_running_loop()
        handed = self._asking = loop.create_future()
        got: Lease | None = None
        failing_since: float | None = None
        try:
            while got is None:
                try:
                    lease = await self._ask()
                except Exception as exc:
                    failing_since = failing_since or loop.time()
                    if not busy(exc) or loop.time() - failing_since > BUSY_FOR_S:
                        raise
                    self.busy += 1
                    lease = None
                else:
                    failing_since = None
                    self.refused += lease is None
                if handed.done():  # a call of this process freed one meanwhile
                    if lease is not None:
                        self._finishing_task(self._release(lease))
                    lease = handed.result()
                if lease is None:
                    poll_s = self.poll_s * (HOLDING_POLL if self.held else 1)
                    await asyncio.wait({handed}, timeout=poll_s * random.uniform(0.5, 1.5))
                    lease = handed.result() if handed.done() else None
                got = lease
            return got
        finally:
            self._asking = None
            if handed.done() and handed.result() is not got:  # handed over as this was cancelled
                self._finishing_task(self._release(handed.result()))

    async def _ask(self) -> Lease | None:
        import httpx

        self.asked += 1
        try:
            response = await self._connection.post(
                "/v2/concurrency_limits/increment-with-lease",
                {"names": [self.name], "slots": 1, "mode": "concurrency",
                 "lease_duration": self.lease_s},
            )  # fmt: skip
        except httpx.HTTPStatusError as exc:
            if exc.response.status_code == 423:  # every slot is held
                return None
            raise
        body = response.json()
        if not body.get("limits"):
            raise LookupError(f"the Prefect limit {self.name!r} is gone from the server")
        self.held += 1
        return Lease(UUID(body["lease_id"]), asyncio.get_running_loop().time())

    def free_after(self, lease: Lease, delay_s: float) -> asyncio.Task[None]:
        """The slot is free ``delay_s`` from now, whatever happens to the caller."""
        return self._finishing_task(self._free(lease, delay_s))

    def _finishing_task(self, coro: Any) -> asyncio.Task[None]:
        task = asyncio.ensure_future(coro)
        self._finishing.add(task)
        task.add_done_callback(self._finishing.discard)
        return task

    async def _free(self, lease: Lease, delay_s: float) -> None:
        await asyncio.sleep(delay_s)
        waiting = self._asking
        young = asyncio.get_running_loop().time() - lease.granted < RECYCLE_S
        if waiting is not None and not waiting.done() and young:
            self.handed += 1
            waiting.set_result(lease)  # the client stays open for it
        else:
            await self._release(lease)

    async def _release(self, lease: Lease) -> None:
        self.held -= 1
        loop = asyncio.get_running_loop()
        started = loop.time()
        try:
            while True:
                try:
                    await self._connection.post(
                        "/v2/concurrency_limits/decrement-with-lease", {"lease_id": str(lease.id)}
                    )
                    return
                except Exception as exc:
                    if not busy(exc) or loop.time() - started > BUSY_FOR_S:
                        raise
                    await asyncio.sleep(self.poll_s * random.uniform(0.5, 1.5))
        except Exception as exc:  # the slot comes back when its lease expires
            log.warning("Releasing a shared slot failed (%s); its lease will expire.", exc)
        finally:
            await self._connection.close()
