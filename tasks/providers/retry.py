"""The one retry layer, and the rules that say what a failed HTTP call means.

Providers never retry (their SDKs get ``max_retries=0``): they classify each
failure as a :class:`~tasks.errors.ProviderError` with a ``kind`` using the
helpers below, and :func:`call_with_retry` alone decides whether to try again.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import re
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from email.utils import parsedate_to_datetime
from types import ModuleType
from typing import TYPE_CHECKING, Any, TypeVar

import anyio

from tasks.errors import ErrorKind, ProviderError

if TYPE_CHECKING:
    from tasks.providers.base import Provider
    from tasks.providers.limits import Limiter
    from tasks.record.types import Generation, GenerationRequest

log = logging.getLogger(__name__)
T = TypeVar("T")
Sleep = Callable[[float], Awaitable[None]]


# --- what a failure means -------------------------------------------------------------


def kind_for_status(status: int) -> ErrorKind:
    """429 waits; 408, 409 and 5xx (incl. Anthropic's 529 overloaded) retry; others are final."""
    if status == 429:
        return "rate_limit"
    if status in (408, 409) or status >= 500:
        return "transient"
    return "permanent"


def parse_retry_after(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """Seconds to wait from ``retry-after-ms`` or ``Retry-After`` (seconds or an HTTP-date)."""
    lowered = {k.lower(): v for k, v in headers.items()}
    try:
        if "retry-after-ms" in lowered:
            return max(0.0, float(lowered["retry-after-ms"]) / 1000)
        value = lowered.get("retry-after")
        if value is None:
            return None
        try:
            return max(0.0, float(value))
        except ValueError:
            when = parsedate_to_datetime(value).timestamp()
            return max(0.0, when - (time.time() if now is None else now))
    except (ValueError, TypeError):
        return None


_KEY_LIKE = re.compile(r"\b(sk-[A-Za-z0-9_\-*]{6,}|Bearer\s+\S+)")


def redact(text: str, secrets: Iterable[str | None] = ()) -> str:
    """Remove keys from a message: the given secrets, plus anything shaped like a key."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "[redacted]")
    return _KEY_LIKE.sub("[redacted]", text)


def error_message(body: Any, fallback: str) -> str:
    """The server's own message from a JSON error body (OpenAI, Anthropic or Ollama shape)."""
    if isinstance(body, Mapping):
        inner = body.get("error", body)
        if isinstance(inner, Mapping):
            inner = inner.get("message") or inner.get("type")
        if isinstance(inner, str) and inner:
            return inner[:300]
    return fallback


@contextmanager
def sdk_errors(sdk: ModuleType, label: str, secret: str | None = None) -> Iterator[None]:
    """Translate the exceptions of a Stainless-generated SDK (``openai``, ``anthropic``).

    Both SDKs share one exception tree, so one translator serves both. Messages name
    the model and the server's reason, and are scrubbed of the key.
    """
    try:
        yield
    except sdk.APIStatusError as exc:
        status = exc.status_code
        kind = kind_for_status(status)
        if status == 429 and getattr(exc, "code", None) == "insufficient_quota":
            kind = "permanent"  # no credit left: waiting will not help
        reason = error_message(exc.body, type(exc).__name__)
        raise ProviderError(
            redact(f"{label}: HTTP {status}: {reason}", [secret]),
            kind=kind,
            retry_after=parse_retry_after(exc.response.headers) if kind != "permanent" else None,
            status_code=status,
        ) from exc
    except sdk.APITimeoutError as exc:
        raise ProviderError(f"{label}: request timed out", kind="transient") from exc
    except sdk.APIConnectionError as exc:
        raise connection_error(label, exc, _request_url(exc), [secret]) from exc
    except (sdk.APIResponseValidationError, json.JSONDecodeError) as exc:
        raise ProviderError(f"{label}: malformed reply from the server", kind="transient") from exc
    except sdk.APIError as exc:  # any other API error: retrying the same call will not help
        raise ProviderError(redact(f"{label}: {exc}", [secret]), kind="permanent") from exc


def _request_url(exc: BaseException) -> str:
    try:
        return str(exc.request.url)  # type: ignore[attr-defined]
    except (AttributeError, RuntimeError):
        return ""


def connection_error(
    label: str, exc: BaseException, url: str, secrets: Iterable[str | None] = ()
) -> ProviderError:
    """A ProviderError for a failed connection that names the URL and the cause."""
    chain: list[BaseException] = []
    cause: BaseException | None = exc
    while cause is not None and len(chain) < 5:
        chain.append(cause)
        cause = cause.__cause__ or cause.__context__
    unreachable = any(type(c).__name__ in ("ConnectError", "ConnectionRefusedError") for c in chain)
    cause = exc.__cause__ or exc
    reason = str(cause) or type(cause).__name__  # a reset often has an empty message
    where = f" ({url})" if url else ""
    return ProviderError(
        redact(f"{label}: connection failed: {reason}{where}", secrets)[:400],
        kind="transient",
        unreachable=unreachable,
    )


# --- retrying -------------------------------------------------------------------------


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded exponential backoff with full jitter."""

    max_attempts: int = 5
    max_total_s: float = 300.0
    base_delay_s: float = 1.0
    max_delay_s: float = 60.0
    max_retry_after_s: float = 120.0  # never wait longer than this for a Retry-After


async def _anyio_sleep(seconds: float) -> None:
    await anyio.sleep(seconds)


# Tests replace this (or pass ``sleep=``) to make retries instant, as inspect_ai does.
default_sleep: Sleep = _anyio_sleep


def backoff_delay(
    error: ProviderError, attempt: int, policy: RetryPolicy, rng: Callable[[], float]
) -> float:
    """The wait before attempt ``attempt + 1``: the server's Retry-After, else full jitter."""
    if error.retry_after is not None:
        return min(error.retry_after, policy.max_retry_after_s)
    return rng() * min(policy.max_delay_s, policy.base_delay_s * 2 ** (attempt - 1))


async def call_with_retry(
    fn: Callable[[], Awaitable[T]],
    *,
    policy: RetryPolicy | None = None,
    sleep: Sleep | None = None,
    clock: Callable[[], float] = time.monotonic,
    rng: Callable[[], float] = random.random,
) -> tuple[T, int]:
    """Call ``fn`` until it succeeds; return its result and the number of attempts.

    Retries ``rate_limit`` and ``transient`` errors, never ``permanent`` ones, for at most
    ``policy.max_attempts`` attempts and ``policy.max_total_s`` seconds. On giving up it
    re-raises the last ProviderError with an ``attempts`` attribute set.
    """
    policy = policy or RetryPolicy()
    started = clock()
    attempt = 0
    while True:
        attempt += 1
        try:
            return await fn(), attempt
        except ProviderError as exc:
            delay = backoff_delay(exc, attempt, policy, rng)
            out_of_time = clock() - started + delay > policy.max_total_s
            if exc.kind == "permanent" or attempt >= policy.max_attempts or out_of_time:
                exc.attempts = attempt  # type: ignore[attr-defined]
                raise
            log.warning(
                "attempt %d failed (%s: %s); retrying in %.1fs", attempt, exc.kind, exc, delay
            )
        await (sleep or default_sleep)(delay)


async def generate_with_retry(
    provider: Provider,
    request: GenerationRequest,
    *,
    policy: RetryPolicy | None = None,
    limiter: Limiter | None = None,
    sleep: Sleep | None = None,
) -> Generation:
    """One generation through the retry layer; each attempt takes a limiter slot.

    Each attempt has an overall deadline of the provider's ``timeout_s`` (a server that
    trickles bytes cannot hold a cell), and the cell's attempts together stop at
    ``policy.max_total_s`` counted from the first attempt (time queued for a slot before
    it is not counted). A provider that refused its first connection fails its other
    cells at once. The reply is checked by :func:`~tasks.providers.wire.clean_generation`.
    """
    from tasks.providers.wire import clean_generation

    policy = policy or RetryPolicy()
    loop = asyncio.get_running_loop()
    cell_deadline: float | None = None

    async def call() -> Generation:
        nonlocal cell_deadline
        if provider.unreachable:
            raise ProviderError(provider.unreachable, kind="permanent", unreachable=True)
        now = loop.time()
        if cell_deadline is None:
            cell_deadline = now + policy.max_total_s
        timeout = provider.config.timeout_s
        budget = min(timeout, cell_deadline - now)
        out_of_time = ProviderError(
            f"{provider.label}: no complete reply within max_total_s={policy.max_total_s:g} s "
            f"(each attempt at most timeout_s={timeout:g} s)",
            kind="permanent",
        )
        if budget <= 0:
            raise out_of_time
        try:
            async with asyncio.timeout(budget):
                generation = await provider.generate(request)
        except TimeoutError as exc:
            if budget < timeout:
                raise out_of_time from exc
            raise ProviderError(
                f"{provider.label}: no complete reply within timeout_s={timeout:g} s",
                kind="transient",
            ) from exc
        except ProviderError as exc:
            if exc.unreachable and not provider.reached:
                provider.unreachable = f"{exc} (not retried: the first call could not connect)"
                exc.kind = "permanent"
            raise
        provider.reached = True
        return clean_generation(generation)

    async def attempt() -> Generation:
        if limiter is None:
            return await call()
        async with limiter.slot(provider):
            return await call()

    generation, attempts = await call_with_retry(attempt, policy=policy, sleep=sleep)
    return replace(generation, attempts=attempts)
