"""``openai:MODEL``: OpenAI's Chat Completions API through the official SDK.

An empty or null completion is not an error here: the provider returns ``text=""`` and
the checks record it as ``no_code``, because retrying a model that chose to say nothing
would only repeat the cost. ``content`` sent as a list of parts is joined; any field of
the wrong type is cleaned or becomes a ``generation_error`` (``tasks.providers.wire``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from tasks.errors import ProviderError
from tasks.providers.base import Stopwatch
from tasks.providers.sdk import SDKProvider
from tasks.providers.wire import field, short_text
from tasks.record.types import Generation, GenerationRequest

if TYPE_CHECKING:
    from openai import AsyncOpenAI  # noqa: F401 - the type of client(), for mypy


def chat_messages(request: GenerationRequest) -> list[dict[str, str]]:
    """The system prompt (if any) and the user prompt, in chat-message form."""
    messages = []
    if request.options.system_prompt:
        messages.append({"role": "system", "content": request.options.system_prompt})
    messages.append({"role": "user", "content": request.prompt})
    return messages


class OpenAIProvider(SDKProvider["AsyncOpenAI"]):
    name = "openai"
    needs_key = True
    key_env_var = "OPENAI_API_KEY"
    # OpenAI's newer models accept only max_completion_tokens; most compatible servers
    # (llama.cpp, vLLM) know only max_tokens.
    max_tokens_param: ClassVar[str] = "max_completion_tokens"

    sdk = "openai"
    client_class = "AsyncOpenAI"

    def request_body(self, request: GenerationRequest) -> dict[str, Any]:
        opts = request.options
        body: dict[str, Any] = {
            "model": self.model,
            "messages": chat_messages(request),
            "temperature": opts.temperature,
            self.max_tokens_param: opts.max_tokens,
        }
        if opts.seed is not None:
            body["seed"] = opts.seed
        if opts.top_p is not None:
            body["top_p"] = opts.top_p
        if self.config.options:  # fields the SDK does not know, e.g. a server's own knobs
            body["extra_body"] = dict(self.config.options)
        return body

    async def generate(self, request: GenerationRequest) -> Generation:
        client = self.client()
        with Stopwatch() as watch, self.errors():
            reply = await client.chat.completions.create(**self.request_body(request))
        choices = field(reply, "choices")
        if not isinstance(choices, list) or not choices:
            what = "had no choices" if isinstance(choices, list) else "is not a chat completion"
            raise ProviderError(f"{self.label}: the reply {what}", kind="transient")
        choice = choices[0]
        message = field(choice, "message")
        if message is None:
            raise ProviderError(f"{self.label}: malformed reply from the server", kind="transient")
        usage = field(reply, "usage")
        served = field(reply, "model")
        return self.metered(
            field(message, "content"),
            field(usage, "prompt_tokens"),
            field(usage, "completion_tokens"),
            watch.elapsed,
            temperature=request.options.temperature,
            temperature_sent=request.options.temperature,
            finish_reason=field(choice, "finish_reason"),
            extra={"served_model": short_text(served)} if served != self.model else {},
        )
