"""Odd values at the provider and replay boundaries become clean values or a reason."""

from __future__ import annotations

import json

import httpx
import pytest
import respx

from tasks.errors import ProviderError
from tasks.providers.base import ProviderConfig
from tasks.providers.registry import resolve
from tasks.providers.retry import RetryPolicy, generate_with_retry
from tasks.providers.wire import clean_generation, reply_text, stored_generation, token_count
from tasks.record.types import Generation, GenerationRequest
from tests.providers.fakes import (
    KEY,
    anthropic_message,
    clean_env,
    ollama_chat,
    openai_completion,
)

REQUEST = GenerationRequest(prompt="Write f.", task_id="t", sample=0)
OPENAI = "https://api.openai.com/v1/chat/completions"
ANTHROPIC = "https://api.anthropic.com/v1/messages"
OLLAMA = "http://localhost:11434/api/chat"
ONE_TRY = RetryPolicy(max_attempts=1)


@pytest.fixture(autouse=True)
def env(monkeypatch):
    clean_env(monkeypatch, OPENAI_API_KEY=KEY, ANTHROPIC_API_KEY=KEY)


def raw(body: dict) -> httpx.Response:
    """A JSON response written with json.dumps, so lone surrogates go out as \\udcff escapes."""
    return httpx.Response(
        200, content=json.dumps(body).encode(), headers={"content-type": "application/json"}
    )


def test_reply_text_and_counts():
    assert reply_text(None) == ""
    assert reply_text("a\udcffb") == "a\ufffdb"
    assert reply_text([{"type": "text", "text": "a"}, {"type": "image_url"}, "b"]) == "ab"
    with pytest.raises(ProviderError, match="int, not text"):
        reply_text(5)
    assert [token_count(v) for v in (3, "12", "ten", -1, 2.0, 2.5, True, 10**30, None)] == [
        3, 12, None, None, 2, None, None, None, None,
    ]  # fmt: skip


def test_clean_generation_types_every_field():
    odd = Generation(
        text="x\ud800", model=5, prompt_tokens="ten", completion_tokens=10**40,  # type: ignore[arg-type]
        latency_s=float("nan"), cost_usd="free", timestamp=None, finish_reason=3,  # type: ignore[arg-type]
        extra=[],  # type: ignore[arg-type]
    )  # fmt: skip
    gen = clean_generation(odd)
    assert (gen.text, gen.model, gen.prompt_tokens, gen.completion_tokens) == (
        "x\ufffd",
        "5",
        None,
        None,
    )
    # A latency or time that is not a real one is not measured: None, never 0 or "".
    assert (gen.latency_s, gen.cost_usd, gen.timestamp, gen.finish_reason, gen.extra) == (
        None, None, None, "3", {},
    )  # fmt: skip


def test_stored_generation_rejects_damaged_entries():
    good = Generation(text="t", model="m", prompt_tokens=1, timestamp="now")
    assert stored_generation(good.to_dict()) == good
    damaged = [{"prompt_tokens": "ten"}, {"text": "\udcff"}, {"finish_reason": 1}]
    for bad in ([], "x", {"text": 5}, *({**good.to_dict(), **d} for d in damaged)):
        assert stored_generation(bad) is None, bad


OPENAI_CASES = [
    ({"content": "ok\udcff"}, "ok\ufffd", {}),
    ({"content": None}, "", {}),
    ({"content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]}, "ab", {}),
    ({"prompt_tokens": "ten"}, "ok", {"prompt_tokens": None}),
    ({"finish_reason": 7}, "ok", {"finish_reason": "7"}),
    ({"completion_tokens": 10**30}, "ok", {"completion_tokens": None}),
]


def _openai_body(change: dict) -> dict:
    body = openai_completion("ok")
    choice, usage = body["choices"][0], body["usage"]
    for key, value in change.items():
        if key == "content":
            choice["message"]["content"] = value
        elif key == "finish_reason":
            choice["finish_reason"] = value
        else:
            usage[key] = value
    return body


@pytest.mark.anyio
@pytest.mark.parametrize(("change", "text", "fields"), OPENAI_CASES)
async def test_openai_odd_replies_become_clean_values(change, text, fields):
    provider = resolve("openai:gpt-4o")
    with respx.mock(using="httpx2") as api:
        api.post(OPENAI).mock(return_value=raw(_openai_body(change)))
        gen = await generate_with_retry(provider, REQUEST, policy=ONE_TRY)
    await provider.aclose()
    assert gen.text == text
    for name, value in fields.items():
        assert getattr(gen, name) == value
    if fields.get("prompt_tokens", 1) is None or fields.get("completion_tokens", 1) is None:
        assert gen.cost_usd is None  # a count we cannot read gives an unknown cost, not 0


@pytest.mark.anyio
@pytest.mark.parametrize("content", [5, {"text": "x"}, [{"type": "text", "text": 3}]])
async def test_openai_unusable_content_is_a_permanent_error(content):
    provider = resolve("openai:gpt-4o")
    with respx.mock(using="httpx2") as api:
        api.post(OPENAI).mock(return_value=raw(_openai_body({"content": content})))
        with pytest.raises(ProviderError) as info:
            await generate_with_retry(provider, REQUEST, policy=ONE_TRY)
    await provider.aclose()
    assert info.value.kind == "permanent" and "not" in str(info.value)


@pytest.mark.anyio
async def test_anthropic_odd_reply():
    body = anthropic_message(("a\udcff", "b"))
    body["usage"] = {"input_tokens": "ten", "output_tokens": 4}
    body["stop_reason"] = 1
    provider = resolve("anthropic:claude-3-5-sonnet-latest")
    with respx.mock(using="httpx2") as api:
        api.post(ANTHROPIC).mock(return_value=raw(body))
        gen = await generate_with_retry(provider, REQUEST, policy=ONE_TRY)
    await provider.aclose()
    assert (gen.text, gen.prompt_tokens, gen.completion_tokens) == ("a\ufffdb", None, 4)
    assert gen.finish_reason == "1" and gen.cost_usd is None


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("body", "text"),
    [
        (ollama_chat("x\udcff", prompt_eval_count="ten", done_reason=0), "x\ufffd"),
        (ollama_chat(None), ""),  # type: ignore[arg-type]
        (ollama_chat([{"type": "text", "text": "p"}]), "p"),  # type: ignore[arg-type]
    ],
)
async def test_ollama_odd_replies(body, text):
    provider = resolve("ollama:qwen2.5-coder:7b", ProviderConfig())
    with respx.mock() as api:
        api.post(OLLAMA).mock(return_value=raw(body))
        gen = await generate_with_retry(provider, REQUEST, policy=ONE_TRY)
    await provider.aclose()
    assert gen.text == text and gen.prompt_tokens in (None, 26)


@pytest.mark.anyio
async def test_replay_odd_lines_cost_only_their_own_cell(tmp_path):
    path = tmp_path / "odd.jsonl"
    lines = [
        json.dumps({"task_id": "a", "completion": "x\udcff"}),
        json.dumps({"task_id": "b", "completion": 5}),
        "not json \udcff",
        json.dumps({"task_id": 3, "completion": "y"}),
        json.dumps({"task_id": "c", "completion": "fine"}),
    ]
    path.write_bytes("\n".join(lines).encode("utf-8", "surrogateescape") + b"\n\xff\xfe\n")
    provider = resolve(f"replay:{path}")
    provider.check_ready()

    async def one(task_id: str):
        return await generate_with_retry(
            provider, GenerationRequest("p", task_id=task_id, sample=0), policy=ONE_TRY
        )

    assert (await one("a")).text == "x\ufffd"
    assert (await one("c")).text == "fine"
    with pytest.raises(ProviderError, match="line 2: 'completion' is int"):
        await one("b")
    with pytest.raises(ProviderError, match=r"line.* skipped"):
        await one("d")


@pytest.mark.anyio
async def test_temperature_sent_is_what_the_provider_sent():
    """Anthropic is sent no temperature: ``temperature_sent`` is None, not the request's."""
    provider = resolve("anthropic:claude-3-5-sonnet-latest")
    with respx.mock(using="httpx2") as api:
        api.post(ANTHROPIC).mock(return_value=raw(anthropic_message()))
        gen = await generate_with_retry(provider, REQUEST, policy=ONE_TRY)
    await provider.aclose()
    assert gen.temperature_sent is None
    provider = resolve("openai:gpt-4o")
    with respx.mock(using="httpx2") as api:
        api.post(OPENAI).mock(return_value=raw(openai_completion()))
        gen = await generate_with_retry(provider, REQUEST, policy=ONE_TRY)
    await provider.aclose()
    assert gen.temperature_sent == REQUEST.options.temperature
