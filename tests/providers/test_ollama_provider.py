"""Contract tests for ``ollama:MODEL`` against respx fakes of Ollama's ``/api/chat``."""

from __future__ import annotations

import json

import httpx
import pytest
import respx

from tasks.errors import ProviderError
from tasks.providers.base import ProviderConfig
from tasks.providers.ollama import OllamaProvider, host_url
from tasks.providers.registry import resolve
from tasks.record.types import GenerationOptions, GenerationRequest
from tests.providers.fakes import clean_env, ollama_chat

URL = "http://localhost:11434/api/chat"
REQUEST = GenerationRequest(
    prompt="Write add(a, b).",
    options=GenerationOptions(
        temperature=0.1, max_tokens=64, seed=11, top_p=0.8, system_prompt="Be terse."
    ),
)


@pytest.fixture(autouse=True)
def env(monkeypatch: pytest.MonkeyPatch) -> None:
    clean_env(monkeypatch)


@pytest.mark.anyio
async def test_success_sends_options_and_reads_counts(api: respx.MockRouter) -> None:
    route = api.post(URL).mock(return_value=httpx.Response(200, json=ollama_chat()))
    provider = resolve("ollama:qwen2.5-coder:7b")
    generation = await provider.generate(REQUEST)
    await provider.aclose()

    assert json.loads(route.calls.last.request.content) == {
        "model": "qwen2.5-coder:7b",
        "messages": [
            {"role": "system", "content": "Be terse."},
            {"role": "user", "content": "Write add(a, b)."},
        ],
        "stream": False,
        "options": {"temperature": 0.1, "num_predict": 64, "seed": 11, "top_p": 0.8},
    }
    assert generation.text == "```python\nprint(1)\n```"
    assert (generation.prompt_tokens, generation.completion_tokens) == (26, 298)
    assert generation.extra == {"total_duration": 5_191_566_416, "eval_duration": 4_799_921_000}
    assert generation.model == "ollama:qwen2.5-coder:7b"
    assert (generation.cost_usd, generation.finish_reason) == (0.0, "stop")
    assert provider.local


@pytest.mark.anyio
async def test_empty_content_and_missing_counts(api: respx.MockRouter) -> None:
    reply = ollama_chat(content="")
    del reply["prompt_eval_count"], reply["eval_duration"]
    api.post(URL).mock(return_value=httpx.Response(200, json=reply))
    request = GenerationRequest("hi", GenerationOptions(system_prompt=None, seed=None))
    generation = await OllamaProvider("llama3").generate(request)
    assert generation.text == ""
    assert generation.prompt_tokens is None
    assert generation.extra == {"total_duration": 5_191_566_416}
    body = json.loads(api.calls.last.request.content)
    assert body["messages"] == [{"role": "user", "content": "hi"}]
    assert "seed" not in body["options"]


@pytest.mark.anyio
async def test_config_options_and_price_override(api: respx.MockRouter) -> None:
    api.post("http://gpu.test:11434/api/chat").mock(
        return_value=httpx.Response(200, json=ollama_chat())
    )
    config = ProviderConfig(
        base_url="gpu.test", options={"num_ctx": 8192}, price_per_mtok=(1.0, 1.0)
    )
    generation = await OllamaProvider("llama3", config).generate(REQUEST)
    assert json.loads(api.calls.last.request.content)["options"]["num_ctx"] == 8192
    assert generation.cost_usd == pytest.approx((26 + 298) / 1e6)


ERRORS = [
    (httpx.Response(404, json={"error": "model 'llama9' not found, try pulling it first"}),
     "permanent", 404, "model 'llama9' not found"),
    (httpx.Response(500, json={"error": "llama runner process has terminated"}), "transient", 500,
     "runner"),
    (httpx.Response(503, text="busy", headers={"Retry-After": "5"}), "transient", 503, "HTTP 503"),
    (httpx.Response(429, json={"error": "too many"}, headers={"Retry-After": "2"}), "rate_limit",
     429, "too many"),
    (httpx.Response(400, json={"error": "invalid options"}), "permanent", 400, "invalid options"),
]  # fmt: skip


@pytest.mark.anyio
@pytest.mark.parametrize(("response", "kind", "status", "reason"), ERRORS)
async def test_http_errors_are_classified(
    api: respx.MockRouter, response: httpx.Response, kind: str, status: int, reason: str
) -> None:
    api.post(URL).mock(return_value=response)
    with pytest.raises(ProviderError, match=reason) as info:
        await OllamaProvider("llama9").generate(REQUEST)
    assert (info.value.kind, info.value.status_code) == (kind, status)
    assert str(info.value).startswith(f"ollama:llama9: HTTP {status}: ")


@pytest.mark.anyio
async def test_a_reply_without_a_message_is_malformed(api: respx.MockRouter) -> None:
    """The other network failures are in the contract (test_contract.py)."""
    api.post(URL).mock(return_value=httpx.Response(200, json={"done": True}))
    with pytest.raises(ProviderError, match="malformed") as info:
        await OllamaProvider("m").generate(REQUEST)
    assert info.value.kind == "transient"


@pytest.mark.anyio
async def test_ollama_host_env_without_scheme(
    api: respx.MockRouter, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OLLAMA_HOST", "0.0.0.0:11500")
    route = api.post("http://0.0.0.0:11500/api/chat").mock(
        return_value=httpx.Response(200, json=ollama_chat())
    )
    provider = OllamaProvider("m")
    await provider.generate(REQUEST)
    assert route.call_count == 1
    assert provider.concurrency_key == "ollama:0.0.0.0:11500"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, "http://localhost:11434"),
        ("", "http://localhost:11434"),
        ("0.0.0.0:11434", "http://0.0.0.0:11434"),
        ("gpu-box", "http://gpu-box:11434"),
        ("http://gpu-box/", "http://gpu-box:11434"),
        ("https://ollama.example.com", "https://ollama.example.com"),
        ("http://[::1]:8000", "http://[::1]:8000"),
    ],
)
def test_host_url(value: str | None, expected: str) -> None:
    assert host_url(value) == expected


def test_check_ready_needs_no_key() -> None:
    OllamaProvider("m").check_ready()
