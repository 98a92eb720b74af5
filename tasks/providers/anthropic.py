"""``anthropic:MODEL``: Anthropic's Messages API through the official SDK.

The Messages API of the pinned SDK (anthropic 2.x) takes no ``temperature``,
``top_p`` or ``seed``, so none is sent and ``Generation.temperature`` is None: the
results say the temperature was not applied rather than pretend it was. Extra
request fields can still be sent through ``config.options`` (as ``extra_body``).
An empty reply is returned as ``text=""``, as the OpenAI provider does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tasks.providers.base import Stopwatch
from tasks.providers.sdk import SDKProvider
from tasks.providers.wire import field
from tasks.record.types import Generation, GenerationRequest

if TYPE_CHECKING:
    from anthropic import AsyncAnthropic  # noqa: F401 - the type of client(), for mypy


class AnthropicProvider(SDKProvider["AsyncAnthropic"]):
    name = "anthropic"
    needs_key = True
    key_env_var = "ANTHROPIC_API_KEY"

    sdk = "anthropic"
    client_class = "AsyncAnthropic"

    def request_body(self, request: GenerationRequest) -> dict[str, Any]:
        opts = request.options
        body: dict[str, Any] = {
            "model": self.model,
            "max_tokens": opts.max_tokens,
            "messages": [{"role": "user", "content": request.prompt}],
        }
        if opts.system_prompt:
            body["system"] = opts.system_prompt
        if self.config.options:
            body["extra_body"] = dict(self.config.options)
        return body

    async def generate(self, request: GenerationRequest) -> Generation:
        client = self.client()
        with Stopwatch() as watch, self.errors():
            reply = await client.messages.create(**self.request_body(request))
        content = field(reply, "content")
        if isinstance(content, list):  # text blocks only: tool use and thinking carry no code
            content = [block for block in content if field(block, "type") == "text"]
        usage = field(reply, "usage")
        return self.metered(
            content,
            field(usage, "input_tokens"),
            field(usage, "output_tokens"),
            watch.elapsed,
            temperature=self.config.options.get("temperature"),
            temperature_sent=self.config.options.get("temperature"),
            finish_reason=field(reply, "stop_reason"),
        )
