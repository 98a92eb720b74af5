"""Shared pieces for provider tests: documented reply bodies, a recording sleep, env setup.

Reply bodies follow each API's documented JSON (OpenAI chat.completion, Anthropic
message, Ollama /api/chat), trimmed to the fields the providers read plus a few more.
"""

from __future__ import annotations

from typing import Any

import pytest

import tests.providers.httpx2_respx  # noqa: F401  (registers respx's "httpx2" mocker)
from tasks.providers import retry

KEY = "sk-test-SECRET-0123456789abcdef"
ENV_VARS = ("OPENAI_API_KEY", "OPENAI_BASE_URL", "ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL")


class RecordingSleep:
    """Stands in for the retry layer's sleep: records each delay and returns at once."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


def install_sleep(monkeypatch: pytest.MonkeyPatch) -> RecordingSleep:
    sleep = RecordingSleep()
    monkeypatch.setattr(retry, "default_sleep", sleep)
    return sleep


def clean_env(monkeypatch: pytest.MonkeyPatch, **values: str) -> None:
    """Remove every provider env var, then set ``values``."""
    for name in (*ENV_VARS, "OLLAMA_HOST"):
        monkeypatch.delenv(name, raising=False)
    for name, value in values.items():
        monkeypatch.setenv(name, value)


def openai_completion(
    content: str | None = "```python\nprint(1)\n```",
    *,
    model: str = "gpt-4o-2024-08-06",
    prompt_tokens: int = 42,
    completion_tokens: int = 7,
    finish_reason: str = "stop",
) -> dict[str, Any]:
    return {
        "id": "chatcmpl-abc123",
        "object": "chat.completion",
        "created": 1_741_569_952,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content, "refusal": None},
                "logprobs": None,
                "finish_reason": finish_reason,
            }
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
        "system_fingerprint": "fp_test",
    }


def openai_error(message: str, type_: str, code: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": type_, "param": None, "code": code}}


def anthropic_message(
    texts: tuple[str, ...] = ("```python\n", "print(1)\n```"),
    *,
    input_tokens: int = 30,
    output_tokens: int = 9,
    stop_reason: str = "end_turn",
) -> dict[str, Any]:
    return {
        "id": "msg_013Zva2CMHLNnXjNJJKqJ2EF",
        "type": "message",
        "role": "assistant",
        "model": "claude-3-5-sonnet-20241022",
        "content": [{"type": "text", "text": t} for t in texts],
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": {"input_tokens": input_tokens, "output_tokens": output_tokens},
    }


def anthropic_error(type_: str, message: str) -> dict[str, Any]:
    return {"type": "error", "error": {"type": type_, "message": message}}


def ollama_chat(content: str = "```python\nprint(1)\n```", **overrides: Any) -> dict[str, Any]:
    reply = {
        "model": "qwen2.5-coder:7b",
        "created_at": "2025-01-01T00:00:00.000Z",
        "message": {"role": "assistant", "content": content},
        "done": True,
        "done_reason": "stop",
        "total_duration": 5_191_566_416,
        "load_duration": 2_154_458,
        "prompt_eval_count": 26,
        "prompt_eval_duration": 383_809_000,
        "eval_count": 298,
        "eval_duration": 4_799_921_000,
    }
    return reply | overrides
