"""Contract tests for ``openai:MODEL`` against respx fakes of the Chat Completions API."""

from __future__ import annotations

import json

import httpx
import pytest
import respx

from tasks.errors import ProviderError, UsageError
from tasks.providers.base import ProviderConfig
from tasks.providers.openai import OpenAIProvider
from tasks.providers.retry import RetryPolicy, generate_with_retry
from tasks.record.types import GenerationOptions, GenerationRequest
from tests.providers.fakes import KEY, clean_env, openai_completion, openai_error

URL = "https://api.openai.com/v1/chat/completions"
REQUEST = GenerationRequest(
    prompt="Write add(a, b).",
    options=GenerationOptions(
        temperature=0.3, max_tokens=128, seed=7, top_p=0.9, system_prompt="Be terse."
    ),
)


@pytest.fixture(autouse=True)
def env(monkeypatch: pytest.MonkeyPatch) -> None:
    clean_env(monkeypatch, OPENAI_API_KEY=KEY)


@pytest.mark.anyio
async def test_success_sends_options_and_reads_usage(api: respx.MockRouter) -> None:
    route = api.post(URL).mock(return_value=httpx.Response(200, json=openai_completion()))
    generation = await OpenAIProvider("gpt-4o").generate(REQUEST)

    body = json.loads(route.calls.last.request.content)
    assert body["model"] == "gpt-4o"
    assert body["messages"] == [
        {"role": "system", "content": "Be terse."},
        {"role": "user", "content": "Write add(a, b)."},
    ]
    assert (body["temperature"], body["max_completion_tokens"], body["seed"], body["top_p"]) == (
        0.3,
        128,
        7,
        0.9,
    )
    assert route.calls.last.request.headers["authorization"] == f"Bearer {KEY}"
    assert generation.text == "```python\nprint(1)\n```"
    assert (generation.prompt_tokens, generation.completion_tokens) == (42, 7)
    assert generation.model == "openai:gpt-4o"
    assert generation.finish_reason == "stop"
    assert generation.temperature == 0.3
    assert generation.timestamp.endswith("+00:00")
    assert generation.extra == {"served_model": "gpt-4o-2024-08-06"}
    # gpt-4o: $2.50 in, $10 out per 1M tokens (genai-prices' table).
    assert generation.cost_usd == pytest.approx((42 * 2.5 + 7 * 10) / 1e6)


@pytest.mark.anyio
async def test_no_system_prompt_no_seed(api: respx.MockRouter) -> None:
    route = api.post(URL).mock(return_value=httpx.Response(200, json=openai_completion()))
    request = GenerationRequest("hi", GenerationOptions(system_prompt=None, seed=None))
    await OpenAIProvider("gpt-4o").generate(request)
    body = json.loads(route.calls.last.request.content)
    assert body["messages"] == [{"role": "user", "content": "hi"}]
    assert "seed" not in body and "top_p" not in body


@pytest.mark.anyio
async def test_empty_content_is_empty_text_not_an_error(api: respx.MockRouter) -> None:
    reply = openai_completion(content=None, finish_reason="length")
    api.post(URL).mock(return_value=httpx.Response(200, json=reply))
    generation = await OpenAIProvider("gpt-4o").generate(REQUEST)
    assert generation.text == ""
    assert generation.finish_reason == "length"


@pytest.mark.anyio
async def test_no_choices_is_transient(api: respx.MockRouter) -> None:
    api.post(URL).mock(return_value=httpx.Response(200, json=openai_completion() | {"choices": []}))
    with pytest.raises(ProviderError) as info:
        await OpenAIProvider("gpt-4o").generate(REQUEST)
    assert info.value.kind == "transient"


@pytest.mark.anyio
async def test_unknown_model_has_unknown_cost(api: respx.MockRouter) -> None:
    api.post(URL).mock(return_value=httpx.Response(200, json=openai_completion(model="x")))
    generation = await OpenAIProvider("my-finetune-xyz").generate(REQUEST)
    assert generation.cost_usd is None


@pytest.mark.anyio
async def test_price_override(api: respx.MockRouter) -> None:
    api.post(URL).mock(return_value=httpx.Response(200, json=openai_completion()))
    provider = OpenAIProvider("gpt-4o", ProviderConfig(price_per_mtok=(1.0, 2.0)))
    generation = await provider.generate(REQUEST)
    assert generation.cost_usd == pytest.approx((42 * 1.0 + 7 * 2.0) / 1e6)


def reply(status: int, message: str, type_: str = "invalid_request_error", code=None, **headers):
    return httpx.Response(status, json=openai_error(message, type_, code), headers=headers)


ERRORS = [
    # (response, kind, retry_after, status)
    (reply(429, "Slow down", "requests", **{"Retry-After": "3"}), "rate_limit", 3.0, 429),
    (reply(429, "Slow", "tokens", **{"retry-after-ms": "250", "retry-after": "9"}),
     "rate_limit", 0.25, 429),
    (reply(429, "You exceeded your current quota", "insufficient_quota", "insufficient_quota"),
     "permanent", None, 429),
    (reply(500, "The server had an error", "server_error"), "transient", None, 500),
    (httpx.Response(503, text="upstream down", headers={"Retry-After": "1"}),
     "transient", 1.0, 503),
    (httpx.Response(408, text="timeout"), "transient", None, 408),
    (httpx.Response(409, text="conflict"), "transient", None, 409),
    (reply(401, f"Incorrect API key provided: {KEY}.", code="invalid_api_key"),
     "permanent", None, 401),
    (reply(403, "Forbidden"), "permanent", None, 403),
    (reply(404, "The model `gpt-9` does not exist", code="model_not_found"),
     "permanent", None, 404),
    (reply(400, "bad temperature"), "permanent", None, 400),
    (reply(422, "unprocessable"), "permanent", None, 422),
]  # fmt: skip


@pytest.mark.anyio
@pytest.mark.parametrize(("response", "kind", "retry_after", "status"), ERRORS)
async def test_http_errors_are_classified(
    api: respx.MockRouter, response: httpx.Response, kind: str, retry_after, status: int
) -> None:
    api.post(URL).mock(return_value=response)
    with pytest.raises(ProviderError) as info:
        await OpenAIProvider("gpt-4o").generate(REQUEST)
    error = info.value
    assert (error.kind, error.retry_after, error.status_code) == (kind, retry_after, status)
    assert "openai:gpt-4o" in str(error)
    assert KEY not in str(error) and "SECRET" not in str(error)


@pytest.mark.anyio
async def test_model_not_found_message_names_the_reason(api: respx.MockRouter) -> None:
    body = openai_error("The model `gpt-9` does not exist", "invalid_request_error")
    api.post(URL).mock(return_value=httpx.Response(404, json=body))
    with pytest.raises(ProviderError, match="HTTP 404: The model `gpt-9` does not exist"):
        await OpenAIProvider("gpt-9").generate(REQUEST)


@pytest.mark.anyio
async def test_retry_after_is_honoured(api: respx.MockRouter, sleeps) -> None:
    limited = openai_error("Rate limit reached", "requests", "rate_limit_exceeded")
    api.post(URL).mock(
        side_effect=[
            httpx.Response(429, json=limited, headers={"retry-after-ms": "1500"}),
            httpx.Response(429, json=limited, headers={"Retry-After": "7"}),
            httpx.Response(200, json=openai_completion()),
        ]
    )
    generation = await generate_with_retry(OpenAIProvider("gpt-4o"), REQUEST)
    assert sleeps.delays == [1.5, 7.0]
    assert generation.attempts == 3


@pytest.mark.anyio
async def test_gives_up_after_max_attempts(api: respx.MockRouter, sleeps) -> None:
    route = api.post(URL).mock(return_value=httpx.Response(502, text="bad gateway"))
    with pytest.raises(ProviderError) as info:
        await generate_with_retry(
            OpenAIProvider("gpt-4o"), REQUEST, policy=RetryPolicy(max_attempts=3)
        )
    assert route.call_count == 3
    assert info.value.attempts == 3


@pytest.mark.anyio
async def test_openai_base_url_env_is_honoured(
    api: respx.MockRouter, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "http://proxy.test:9000/v1")
    route = api.post("http://proxy.test:9000/v1/chat/completions").mock(
        return_value=httpx.Response(200, json=openai_completion())
    )
    provider = OpenAIProvider("gpt-4o")
    await provider.generate(REQUEST)
    await provider.aclose()
    assert route.call_count == 1


@pytest.mark.anyio
async def test_config_base_url_wins_over_env(
    api: respx.MockRouter, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "http://wrong.test/v1")
    route = api.post("http://right.test/v1/chat/completions").mock(
        return_value=httpx.Response(200, json=openai_completion())
    )
    await OpenAIProvider("gpt-4o", ProviderConfig(base_url="http://right.test/v1")).generate(
        REQUEST
    )
    assert route.call_count == 1


def test_check_ready_names_the_env_var(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY")
    with pytest.raises(UsageError, match="OPENAI_API_KEY"):
        OpenAIProvider("gpt-4o").check_ready()


@pytest.mark.anyio
async def test_generate_without_key_is_a_usage_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY")
    monkeypatch.setattr("tasks.providers.base._secret_block", lambda name: None)
    with pytest.raises(UsageError, match="OPENAI_API_KEY"):
        await OpenAIProvider("gpt-4o").generate(REQUEST)
