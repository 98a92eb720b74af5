"""End to end: ``openai-compatible`` against a real llama.cpp server running SmolLM2-135M."""

from __future__ import annotations

from dataclasses import replace

import httpx
import pytest

from tasks.providers.base import ProviderConfig
from tasks.providers.openai import chat_messages
from tasks.providers.registry import resolve
from tasks.providers.retry import generate_with_retry
from tasks.record.types import GenerationOptions, GenerationRequest
from tests.providers.llama_server import llama_server_url  # noqa: F401  (fixture)

pytestmark = [pytest.mark.llm, pytest.mark.slow]

OPTIONS = GenerationOptions(temperature=0.0, max_tokens=24, seed=1234, system_prompt=None)
PROMPT = "Write a Python function that adds two numbers."


@pytest.fixture
def provider(llama_server_url: str):  # noqa: F811
    provider = resolve("openai-compatible:smollm2", ProviderConfig(base_url=llama_server_url))
    provider.check_ready()
    return provider


@pytest.mark.anyio
async def test_real_tokens_match_the_servers_usage(provider, llama_server_url: str) -> None:  # noqa: F811
    request = GenerationRequest(PROMPT, OPTIONS)
    generation = await generate_with_retry(provider, request)

    raw = httpx.post(
        f"{llama_server_url}/chat/completions",
        json={
            "model": "smollm2",
            "messages": chat_messages(request),
            "temperature": 0.0,
            "max_tokens": 24,
            "seed": 1234,
        },
        timeout=120,
    ).json()
    assert generation.prompt_tokens > 0 and generation.completion_tokens > 0
    assert generation.prompt_tokens == raw["usage"]["prompt_tokens"]
    assert generation.completion_tokens == raw["usage"]["completion_tokens"]
    assert generation.text == raw["choices"][0]["message"]["content"]
    assert generation.completion_tokens <= 24
    assert (generation.cost_usd, generation.attempts) == (0.0, 1)
    await provider.aclose()


@pytest.mark.anyio
async def test_same_output_at_temperature_zero_with_a_seed(provider) -> None:
    request = GenerationRequest(PROMPT, OPTIONS)
    first = await provider.generate(request)
    second = await provider.generate(request)
    assert first.text and first.text == second.text
    await provider.aclose()


@pytest.mark.anyio
async def test_max_tokens_is_respected(provider) -> None:
    request = GenerationRequest(PROMPT, GenerationOptions(temperature=0.0, max_tokens=5, seed=1))
    generation = await provider.generate(request)
    assert 0 < generation.completion_tokens <= 5
    assert generation.finish_reason == "length"
    await provider.aclose()


@pytest.mark.anyio
async def test_system_prompt_reaches_the_server(provider) -> None:
    # SmolLM2's template adds its own system prompt when none is sent, so compare two.
    short = "Be brief."
    long = " ".join(["You are a careful senior Python engineer who writes type hints."] * 4)

    def with_system(system: str) -> GenerationRequest:
        return GenerationRequest(PROMPT, replace(OPTIONS, system_prompt=system, max_tokens=4))

    brief = await provider.generate(with_system(short))
    verbose = await provider.generate(with_system(long))
    assert verbose.prompt_tokens - brief.prompt_tokens >= len(long.split()) - len(short.split())
    await provider.aclose()
