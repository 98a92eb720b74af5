"""Contract tests for ``openai-compatible:MODEL`` (respx fakes of a local server)."""

from __future__ import annotations

import json

import httpx
import pytest
import respx

from tasks.errors import UsageError
from tasks.providers.base import ProviderConfig
from tasks.providers.openai_compatible import OpenAICompatibleProvider
from tasks.providers.registry import resolve
from tasks.record.types import GenerationOptions, GenerationRequest
from tests.providers.fakes import KEY, clean_env, openai_completion

BASE = "http://127.0.0.1:8080/v1"
CONFIG = ProviderConfig(base_url=BASE, max_concurrency=2)
REQUEST = GenerationRequest("Write add(a, b).", GenerationOptions(max_tokens=32, seed=1))


@pytest.fixture(autouse=True)
def env(monkeypatch: pytest.MonkeyPatch) -> None:
    clean_env(monkeypatch)


@pytest.mark.anyio
async def test_success_uses_base_url_dummy_key_and_max_tokens(api: respx.MockRouter) -> None:
    route = api.post(f"{BASE}/chat/completions").mock(
        return_value=httpx.Response(200, json=openai_completion(model="smol"))
    )
    provider = resolve("openai-compatible:smol", CONFIG)
    provider.check_ready()
    generation = await provider.generate(REQUEST)
    await provider.aclose()

    request = route.calls.last.request
    body = json.loads(request.content)
    assert (body["model"], body["max_tokens"], body["seed"]) == ("smol", 32, 1)
    assert "max_completion_tokens" not in body
    assert request.headers["authorization"] == "Bearer not-needed"
    assert generation.cost_usd == 0.0  # local server, no price override
    assert (generation.prompt_tokens, generation.completion_tokens) == (42, 7)
    assert generation.model == "openai-compatible:smol"


@pytest.mark.anyio
async def test_sends_its_own_key_when_set_and_price_override(
    api: respx.MockRouter, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_COMPATIBLE_API_KEY", KEY)
    route = api.post(f"{BASE}/chat/completions").mock(
        return_value=httpx.Response(200, json=openai_completion())
    )
    config = ProviderConfig(base_url=BASE, price_per_mtok=(0.5, 1.5), options={"top_k": 5})
    generation = await OpenAICompatibleProvider("m", config).generate(REQUEST)
    assert route.calls.last.request.headers["authorization"] == f"Bearer {KEY}"
    assert json.loads(route.calls.last.request.content)["top_k"] == 5
    assert generation.cost_usd == pytest.approx((42 * 0.5 + 7 * 1.5) / 1e6)


def test_missing_base_url_names_the_flag() -> None:
    provider = OpenAICompatibleProvider("m")
    with pytest.raises(UsageError, match="--base-url"):
        provider.check_ready()
    with pytest.raises(UsageError, match="--base-url"):
        _ = provider.concurrency_key


def test_concurrency_key_is_the_server() -> None:
    assert OpenAICompatibleProvider("a", CONFIG).concurrency_key == (
        "openai-compatible:127.0.0.1:8080"
    )
    assert (
        OpenAICompatibleProvider("a", CONFIG).concurrency_key
        == OpenAICompatibleProvider("b", CONFIG).concurrency_key
    )


@pytest.mark.anyio
async def test_never_sends_the_openai_key_to_a_third_party_server(
    api: respx.MockRouter, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.delenv("OPENAI_COMPATIBLE_API_KEY", raising=False)
    route = api.post(f"{BASE}/chat/completions").mock(
        return_value=httpx.Response(200, json=openai_completion())
    )
    await OpenAICompatibleProvider("m", CONFIG).generate(REQUEST)
    assert KEY not in route.calls.last.request.headers["authorization"]
