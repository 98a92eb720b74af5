"""Live calls to real providers; each is skipped unless its key or host is there.

Models can be chosen with VIVEK_LIVE_OPENAI_MODEL, VIVEK_LIVE_ANTHROPIC_MODEL and
VIVEK_LIVE_OLLAMA_MODEL (default: the first model the Ollama server lists).
"""

from __future__ import annotations

import os

import httpx
import pytest

from tasks.providers.ollama import host_url
from tasks.providers.registry import resolve
from tasks.providers.retry import RetryPolicy, generate_with_retry
from tasks.record.types import GenerationOptions, GenerationRequest

pytestmark = pytest.mark.live

REQUEST = GenerationRequest(
    "Write a Python function add(a, b) that returns a + b.",
    GenerationOptions(temperature=0.0, max_tokens=64, seed=1),
)
POLICY = RetryPolicy(max_attempts=3, max_total_s=60)


def ollama_model() -> str | None:
    """A model the Ollama server has, or None when no server answers."""
    try:
        reply = httpx.get(f"{host_url(os.environ.get('OLLAMA_HOST'))}/api/tags", timeout=2)
        models = [m["name"] for m in reply.json().get("models", [])]
    except (httpx.HTTPError, ValueError):
        return None
    return os.environ.get("VIVEK_LIVE_OLLAMA_MODEL") or (models[0] if models else None)


async def check_live(spec: str) -> None:
    provider = resolve(spec)
    provider.check_ready()
    generation = await generate_with_retry(provider, REQUEST, policy=POLICY)
    await provider.aclose()
    assert generation.text.strip()
    assert generation.prompt_tokens and generation.completion_tokens
    assert generation.completion_tokens <= 64


@pytest.mark.anyio
@pytest.mark.skipif(not os.environ.get("OPENAI_API_KEY"), reason="OPENAI_API_KEY is not set")
async def test_openai_live() -> None:
    await check_live(f"openai:{os.environ.get('VIVEK_LIVE_OPENAI_MODEL', 'gpt-4o-mini')}")


@pytest.mark.anyio
@pytest.mark.skipif(not os.environ.get("ANTHROPIC_API_KEY"), reason="ANTHROPIC_API_KEY is not set")
async def test_anthropic_live() -> None:
    model = os.environ.get("VIVEK_LIVE_ANTHROPIC_MODEL", "claude-3-5-haiku-latest")
    await check_live(f"anthropic:{model}")


@pytest.mark.anyio
async def test_ollama_live() -> None:
    model = ollama_model()
    if model is None:
        pytest.skip("no reachable Ollama server with a model (OLLAMA_HOST)")
    await check_live(f"ollama:{model}")
