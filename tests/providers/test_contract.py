"""The contract every HTTP provider keeps, one test per rule parametrised over the providers
(as llm's and inspect_ai's provider tests are): what a reply becomes, how each kind of
failure is classified and retried, that no key leaks into a message, and that a client
never outlives its event loop. What is particular to one API (its request body, its
price table, its error bodies) stays in that provider's own test file.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import httpx2
import pytest
import respx

from tasks.errors import ProviderError
from tasks.providers.base import Provider, ProviderConfig
from tasks.providers.registry import resolve
from tasks.providers.retry import RetryPolicy, generate_with_retry
from tasks.record.types import GenerationOptions, GenerationRequest
from tests.providers.fakes import (
    KEY,
    RecordingSleep,
    anthropic_error,
    anthropic_message,
    clean_env,
    ollama_chat,
    openai_completion,
    openai_error,
)

REQUEST = GenerationRequest(
    "Write add(a, b).", GenerationOptions(temperature=0.0, max_tokens=64, seed=1)
)
TEXT = "```python\nprint(1)\n```"  # what every fake's success body says


@dataclass(frozen=True)
class Case:
    """One provider as the contract sees it: where it sends, and the API's documented bodies."""

    spec: str
    url: str
    success: Callable[[], dict[str, Any]]
    tokens: tuple[int, int]  # (prompt, completion) in the success body
    error: Callable[[str], dict[str, Any]]  # an error body carrying this message
    timeout: type[Exception]  # what the HTTP stack under the provider raises
    connect: type[Exception]
    config: ProviderConfig = field(default_factory=ProviderConfig)
    env: dict[str, str] = field(default_factory=dict)
    other_base_url: tuple[str, str] = ("", "")  # (config's base_url, where it then sends)

    def provider(self) -> Provider:
        return resolve(self.spec, self.config)


CASES = [
    Case(
        "openai:gpt-4o",
        "https://api.openai.com/v1/chat/completions",
        openai_completion,
        (42, 7),
        lambda message: openai_error(message, "invalid_request_error"),
        httpx2.ReadTimeout,
        httpx2.ConnectError,
        env={"OPENAI_API_KEY": KEY},
        other_base_url=("http://right.test/v1", "http://right.test/v1/chat/completions"),
    ),
    Case(
        "anthropic:claude-3-5-sonnet-latest",
        "https://api.anthropic.com/v1/messages",
        anthropic_message,
        (30, 9),
        lambda message: anthropic_error("invalid_request_error", message),
        httpx2.ReadTimeout,
        httpx2.ConnectError,
        env={"ANTHROPIC_API_KEY": KEY},
        other_base_url=("http://right.test", "http://right.test/v1/messages"),
    ),
    Case(
        "ollama:qwen2.5-coder:7b",
        "http://localhost:11434/api/chat",
        ollama_chat,
        (26, 298),
        lambda message: {"error": message},
        httpx.ReadTimeout,
        httpx.ConnectError,
        other_base_url=("gpu.test", "http://gpu.test:11434/api/chat"),
    ),
    Case(
        "openai-compatible:smol",
        "http://127.0.0.1:8080/v1/chat/completions",
        openai_completion,
        (42, 7),
        lambda message: openai_error(message, "invalid_request_error"),
        httpx2.ReadTimeout,
        httpx2.ConnectError,
        config=ProviderConfig(base_url="http://127.0.0.1:8080/v1"),
        env={"OPENAI_COMPATIBLE_API_KEY": KEY},
        other_base_url=("http://10.0.0.2:9000/v1", "http://10.0.0.2:9000/v1/chat/completions"),
    ),
]


@pytest.fixture(params=CASES, ids=lambda case: case.spec.split(":")[0])
def case(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Case:
    clean_env(monkeypatch, **request.param.env)
    return request.param


async def generate(provider: Provider, **retry: Any):
    """One request through the retry layer (no retries unless ``retry`` says so)."""
    try:
        return await generate_with_retry(
            provider, REQUEST, policy=RetryPolicy(**({"max_attempts": 1} | retry))
        )
    finally:
        await provider.aclose()


@pytest.mark.anyio
async def test_a_reply_becomes_text_tokens_and_the_models_label(case, api) -> None:
    api.post(case.url).mock(return_value=httpx.Response(200, json=case.success()))
    generation = await generate(case.provider())
    assert generation.text == TEXT
    assert (generation.prompt_tokens, generation.completion_tokens) == case.tokens
    assert generation.model == case.spec and generation.attempts == 1
    assert generation.timestamp.endswith("+00:00") and generation.latency_s >= 0


@pytest.mark.anyio
@pytest.mark.parametrize("failure", ["timeout", "connect", "malformed"])
async def test_network_failures_and_malformed_replies_are_transient(case, api, failure) -> None:
    effect, match = {
        "timeout": (case.timeout("read timed out"), "timed out"),
        "connect": (case.connect("connection refused"), "connection failed"),
        "malformed": (
            httpx.Response(200, text="{not json", headers={"content-type": "application/json"}),
            "malformed",
        ),
    }[failure]
    api.post(case.url).mock(side_effect=[effect])
    provider = case.provider()
    with pytest.raises(ProviderError, match=match) as info:
        await provider.generate(REQUEST)  # the provider's own verdict, before the retry layer's
    await provider.aclose()
    assert info.value.kind == "transient" and str(info.value).startswith(f"{case.spec}: ")


@pytest.mark.anyio
async def test_a_flaky_server_is_retried_until_it_answers(
    case, api, sleeps: RecordingSleep
) -> None:
    broken = httpx.Response(500, json=case.error("internal error"))
    route = api.post(case.url).mock(
        side_effect=[broken, broken, httpx.Response(200, json=case.success())]
    )
    generation = await generate(case.provider(), max_attempts=4)
    assert (generation.attempts, route.call_count, len(sleeps.delays)) == (3, 3, 2)


@pytest.mark.anyio
async def test_a_permanent_error_is_tried_once_and_never_shows_the_key(
    case, api, sleeps: RecordingSleep
) -> None:
    body = case.error(f"invalid key {KEY}")
    route = api.post(case.url).mock(return_value=httpx.Response(401, json=body))
    with pytest.raises(ProviderError) as info:
        await generate(case.provider(), max_attempts=4)
    error = info.value
    assert (error.kind, error.status_code, error.attempts) == ("permanent", 401, 1)
    assert (route.call_count, sleeps.delays) == (1, [])
    assert str(error).startswith(f"{case.spec}: HTTP 401: ")
    assert KEY not in str(error) and "SECRET" not in str(error)


@pytest.mark.anyio
async def test_a_rate_limit_waits_as_long_as_the_server_asks(
    case, api, sleeps: RecordingSleep
) -> None:
    limited = httpx.Response(429, json=case.error("slow down"), headers={"Retry-After": "2"})
    api.post(case.url).mock(side_effect=[limited, httpx.Response(200, json=case.success())])
    generation = await generate(case.provider(), max_attempts=4)
    assert generation.attempts == 2 and sleeps.delays == [2.0]


@pytest.mark.anyio
async def test_the_configured_base_url_is_where_requests_go(case, api) -> None:
    base_url, url = case.other_base_url
    route = api.post(url).mock(return_value=httpx.Response(200, json=case.success()))
    provider = resolve(case.spec, ProviderConfig(base_url=base_url))
    await generate(provider)
    assert route.call_count == 1


def test_a_new_event_loop_gets_a_working_client(case, api: respx.MockRouter) -> None:
    """Prefect may run calls on different loops; a client bound to a closed loop would fail."""
    route = api.post(case.url).mock(return_value=httpx.Response(200, json=case.success()))
    provider = case.provider()
    texts = [asyncio.run(provider.generate(REQUEST)).text for _ in range(2)]
    assert texts == [TEXT, TEXT] and route.call_count == 2
