"""The retry layer and the rules that classify failures."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import format_datetime

import httpx2
import pytest

from tasks.errors import ProviderError
from tasks.providers import retry
from tasks.providers.limits import Limiter
from tasks.providers.mock import MockProvider
from tasks.providers.retry import (
    RetryPolicy,
    backoff_delay,
    call_with_retry,
    error_message,
    generate_with_retry,
    kind_for_status,
    parse_retry_after,
    redact,
    sdk_errors,
)
from tasks.record.types import GenerationRequest
from tests.providers.fakes import RecordingSleep, install_sleep


class Flaky:
    """Raises the queued errors in order, then returns "ok"."""

    def __init__(self, *errors: ProviderError) -> None:
        self.errors = list(errors)
        self.calls = 0

    async def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "ok"


def transient(retry_after: float | None = None) -> ProviderError:
    return ProviderError("boom", kind="transient", retry_after=retry_after)


@pytest.mark.parametrize(
    ("status", "kind"),
    [(429, "rate_limit"), (408, "transient"), (409, "transient"), (500, "transient"),
     (529, "transient"), (400, "permanent"), (401, "permanent"), (404, "permanent"),
     (422, "permanent")],
)  # fmt: skip
def test_kind_for_status(status: int, kind: str) -> None:
    assert kind_for_status(status) == kind


def test_parse_retry_after() -> None:
    assert parse_retry_after({"Retry-After": "12"}) == 12.0
    assert parse_retry_after({"retry-after-ms": "300", "Retry-After": "12"}) == 0.3
    assert parse_retry_after({}) is None
    assert parse_retry_after({"Retry-After": "soon"}) is None
    assert parse_retry_after({"Retry-After": "-4"}) == 0.0
    now = datetime(2025, 1, 1, 12, 0, 0, tzinfo=UTC)
    date = format_datetime(datetime(2025, 1, 1, 12, 0, 30, tzinfo=UTC), usegmt=True)
    assert parse_retry_after({"Retry-After": date}, now=now.timestamp()) == 30.0


def test_redact_and_error_message() -> None:
    assert redact("key sk-abcdef123456 and s3cret", ["s3cret", None]) == (
        "key [redacted] and [redacted]"
    )
    assert redact("Authorization: Bearer abc.def") == "Authorization: [redacted]"
    assert error_message({"error": {"message": "nope"}}, "x") == "nope"
    assert error_message({"error": {"type": "overloaded_error"}}, "x") == "overloaded_error"
    assert error_message({"error": "model 'm' not found"}, "x") == "model 'm' not found"
    assert error_message("not a dict", "fallback") == "fallback"


@pytest.mark.anyio
async def test_retries_then_succeeds() -> None:
    sleep = RecordingSleep()
    fn = Flaky(transient(), ProviderError("slow", kind="rate_limit"))
    result, attempts = await call_with_retry(fn, sleep=sleep, rng=lambda: 0.5)
    assert (result, attempts, fn.calls) == ("ok", 3, 3)
    # full jitter: rng * base * 2**(attempt-1)
    assert sleep.delays == [0.5, 1.0]


@pytest.mark.anyio
async def test_permanent_is_never_retried() -> None:
    sleep = RecordingSleep()
    fn = Flaky(ProviderError("bad key", kind="permanent"))
    with pytest.raises(ProviderError) as info:
        await call_with_retry(fn, sleep=sleep)
    assert (fn.calls, info.value.attempts, sleep.delays) == (1, 1, [])


@pytest.mark.anyio
async def test_bounded_attempts() -> None:
    sleep = RecordingSleep()
    fn = Flaky(*[transient() for _ in range(10)])
    with pytest.raises(ProviderError) as info:
        await call_with_retry(fn, policy=RetryPolicy(max_attempts=4), sleep=sleep)
    assert (fn.calls, info.value.attempts, len(sleep.delays)) == (4, 4, 3)


@pytest.mark.anyio
async def test_bounded_total_time() -> None:
    """A fake clock: each wait of 100 s would pass the 250 s budget on the third failure."""
    now = [0.0]

    async def sleep(seconds: float) -> None:
        now[0] += seconds

    fn = Flaky(*[transient(retry_after=100) for _ in range(10)])
    policy = RetryPolicy(max_attempts=10, max_total_s=250)
    with pytest.raises(ProviderError) as info:
        await call_with_retry(fn, policy=policy, sleep=sleep, clock=lambda: now[0])
    assert info.value.attempts == 3
    assert now[0] == 200.0


@pytest.mark.anyio
async def test_retry_after_is_capped() -> None:
    sleep = RecordingSleep()
    fn = Flaky(transient(retry_after=3600))
    await call_with_retry(fn, policy=RetryPolicy(max_retry_after_s=30), sleep=sleep)
    assert sleep.delays == [30]


def test_backoff_grows_and_is_capped() -> None:
    policy = RetryPolicy(base_delay_s=2, max_delay_s=10)
    delays = [backoff_delay(transient(), n, policy, rng=lambda: 1.0) for n in range(1, 6)]
    assert delays == [2, 4, 8, 10, 10]
    assert backoff_delay(transient(), 3, policy, rng=lambda: 0.0) == 0.0


@pytest.mark.anyio
async def test_bugs_are_not_retried() -> None:
    calls = []

    async def broken() -> None:
        calls.append(1)
        raise KeyError("bug")

    with pytest.raises(KeyError):
        await call_with_retry(broken, sleep=RecordingSleep())
    assert calls == [1]


@pytest.mark.anyio
async def test_generate_with_retry_sets_attempts(monkeypatch: pytest.MonkeyPatch) -> None:
    sleeps = install_sleep(monkeypatch)
    provider = MockProvider("x")
    failures = [transient()]
    real_generate = provider.generate

    async def flaky_generate(request: GenerationRequest):
        if failures:
            raise failures.pop()
        return await real_generate(request)

    monkeypatch.setattr(provider, "generate", flaky_generate)
    generation = await generate_with_retry(provider, GenerationRequest("p"), limiter=Limiter())
    assert generation.attempts == 2
    assert len(sleeps.delays) == 1
    plain = await generate_with_retry(MockProvider("echo"), GenerationRequest("p"))
    assert (plain.attempts, plain.text) == (1, "p")


@pytest.mark.anyio
async def test_the_real_sleep_waits_zero_seconds() -> None:
    fn = Flaky(transient(retry_after=0))
    assert await call_with_retry(fn, sleep=retry._anyio_sleep) == ("ok", 2)


@pytest.mark.parametrize("sdk_name", ["openai", "anthropic"])
def test_sdk_errors_other_api_errors(sdk_name: str) -> None:
    sdk = pytest.importorskip(sdk_name)
    request = httpx2.Request("POST", "http://api.test/v1")
    with pytest.raises(ProviderError, match="malformed") as info, sdk_errors(sdk, "p:m"):
        raise sdk.APIResponseValidationError(httpx2.Response(200, request=request), body=None)
    assert info.value.kind == "transient"
    with pytest.raises(ProviderError, match="p:m: odd reply") as info, sdk_errors(sdk, "p:m", "s3"):
        raise sdk.APIError("odd reply for key s3", request, body=None)
    assert info.value.kind == "permanent" and "s3" not in str(info.value)
