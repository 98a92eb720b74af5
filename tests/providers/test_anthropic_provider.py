"""Contract tests for ``anthropic:MODEL`` against respx fakes of the Messages API."""

from __future__ import annotations

import json

import httpx
import pytest
import respx

from tasks.errors import ProviderError, UsageError
from tasks.providers.anthropic import AnthropicProvider
from tasks.providers.base import ProviderConfig
from tasks.providers.retry import generate_with_retry
from tasks.record.types import GenerationOptions, GenerationRequest
from tests.providers.fakes import KEY, anthropic_error, anthropic_message, clean_env

URL = "https://api.anthropic.com/v1/messages"
MODEL = "claude-3-5-sonnet-latest"
REQUEST = GenerationRequest(
    prompt="Write add(a, b).",
    options=GenerationOptions(
        temperature=0.0, max_tokens=256, seed=3, top_p=0.5, system_prompt="Be terse."
    ),
)


@pytest.fixture(autouse=True)
def env(monkeypatch: pytest.MonkeyPatch) -> None:
    clean_env(monkeypatch, ANTHROPIC_API_KEY=KEY)


@pytest.mark.anyio
async def test_success_sends_options_and_reads_usage(api: respx.MockRouter) -> None:
    route = api.post(URL).mock(return_value=httpx.Response(200, json=anthropic_message()))
    provider = AnthropicProvider(MODEL)
    generation = await provider.generate(REQUEST)
    await provider.aclose()

    request = route.calls.last.request
    body = json.loads(request.content)
    assert body == {
        "model": MODEL,
        "max_tokens": 256,
        "messages": [{"role": "user", "content": "Write add(a, b)."}],
        "system": "Be terse.",
    }  # no temperature, top_p or seed: the pinned SDK's Messages API has none
    assert KEY in (request.headers.get("x-api-key") or request.headers["authorization"])
    assert generation.text == "```python\nprint(1)\n```"  # text blocks joined
    assert (generation.prompt_tokens, generation.completion_tokens) == (30, 9)
    assert generation.model == f"anthropic:{MODEL}"
    assert generation.finish_reason == "end_turn"
    assert generation.temperature is None  # not applied, so not claimed
    # claude-3-5-sonnet: $3 in, $15 out per 1M tokens (genai-prices' table).
    assert generation.cost_usd == pytest.approx((30 * 3 + 9 * 15) / 1e6)


@pytest.mark.anyio
async def test_empty_content_is_empty_text(api: respx.MockRouter) -> None:
    api.post(URL).mock(return_value=httpx.Response(200, json=anthropic_message(texts=())))
    request = GenerationRequest("hi", GenerationOptions(system_prompt=None))
    generation = await AnthropicProvider(MODEL).generate(request)
    assert generation.text == ""
    body = json.loads(api.calls.last.request.content)
    assert "system" not in body


@pytest.mark.anyio
async def test_config_options_are_sent_as_extra_fields(api: respx.MockRouter) -> None:
    api.post(URL).mock(return_value=httpx.Response(200, json=anthropic_message()))
    config = ProviderConfig(options={"temperature": 0.7})
    generation = await AnthropicProvider(MODEL, config).generate(REQUEST)
    assert json.loads(api.calls.last.request.content)["temperature"] == 0.7
    assert generation.temperature == 0.7


def reply(status: int, type_: str, message: str, **headers: str) -> httpx.Response:
    return httpx.Response(status, json=anthropic_error(type_, message), headers=headers)


ERRORS = [
    (reply(429, "rate_limit_error", "Slow down", **{"retry-after": "4"}), "rate_limit", 4.0, 429),
    (reply(529, "overloaded_error", "Overloaded"), "transient", None, 529),
    (reply(500, "api_error", "Internal error"), "transient", None, 500),
    (reply(401, "authentication_error", f"invalid x-api-key {KEY}"), "permanent", None, 401),
    (reply(404, "not_found_error", "model: claude-9"), "permanent", None, 404),
    (reply(400, "invalid_request_error", "Your credit balance is too low"),
     "permanent", None, 400),
]  # fmt: skip


@pytest.mark.anyio
@pytest.mark.parametrize(("response", "kind", "retry_after", "status"), ERRORS)
async def test_http_errors_are_classified(
    api: respx.MockRouter, response: httpx.Response, kind: str, retry_after, status: int
) -> None:
    api.post(URL).mock(return_value=response)
    with pytest.raises(ProviderError) as info:
        await AnthropicProvider(MODEL).generate(REQUEST)
    error = info.value
    assert (error.kind, error.retry_after, error.status_code) == (kind, retry_after, status)
    assert str(error).startswith(f"anthropic:{MODEL}: HTTP {status}: ")
    assert KEY not in str(error)


@pytest.mark.anyio
async def test_overloaded_then_ok_through_retry(api: respx.MockRouter, sleeps) -> None:
    overloaded = anthropic_error("overloaded_error", "Overloaded")
    route = api.post(URL).mock(
        side_effect=[
            httpx.Response(529, json=overloaded),
            httpx.Response(429, json=overloaded, headers={"retry-after": "2"}),
            httpx.Response(200, json=anthropic_message()),
        ]
    )
    generation = await generate_with_retry(AnthropicProvider(MODEL), REQUEST)
    assert (generation.attempts, route.call_count) == (3, 3)
    assert sleeps.delays[1] == 2.0


@pytest.mark.anyio
async def test_anthropic_base_url_env_is_honoured(
    api: respx.MockRouter, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_BASE_URL", "http://gateway.test:8080")
    route = api.post("http://gateway.test:8080/v1/messages").mock(
        return_value=httpx.Response(200, json=anthropic_message())
    )
    await AnthropicProvider(MODEL).generate(REQUEST)
    assert route.call_count == 1


@pytest.mark.anyio
async def test_config_base_url_wins(api: respx.MockRouter, monkeypatch) -> None:
    monkeypatch.setenv("ANTHROPIC_BASE_URL", "http://wrong.test")
    route = api.post("http://right.test/v1/messages").mock(
        return_value=httpx.Response(200, json=anthropic_message())
    )
    await AnthropicProvider(MODEL, ProviderConfig(base_url="http://right.test")).generate(REQUEST)
    assert route.call_count == 1


def test_check_ready_names_the_env_var(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY")
    with pytest.raises(UsageError, match="ANTHROPIC_API_KEY"):
        AnthropicProvider(MODEL).check_ready()


@pytest.mark.anyio
async def test_generate_without_key_is_a_usage_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY")
    monkeypatch.setattr("tasks.providers.base._secret_block", lambda name: None)
    with pytest.raises(UsageError, match="ANTHROPIC_API_KEY"):
        await AnthropicProvider(MODEL).generate(REQUEST)
