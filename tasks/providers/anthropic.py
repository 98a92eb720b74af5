"""``anthropic:MODEL``: Anthropic's Messages API through the official SDK.

The Messages API of the pinned SDK (anthropic 2.x) takes no ``temperature``,
``top_p`` or ``seed``, so none is sent and ``Generation.temperature`` is None: the
results say the temperature was not applied rather than pretend it was. Extra
request fields can still be sent through ``config.options`` (as ``extra_body``).
An empty reply is returned as ``text=""``, as the OpenAI provider does.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from tasks.providers.base import Provider, Stopwatch
from tasks.providers.retry import sdk_errors
from tasks.providers.wire import field
from tasks.record.types import Generation, GenerationRequest

if TYPE_CHECKING:
    from anthropic import AsyncAnthropic


class AnthropicProvider(Provider):
    name = "anthropic"
    needs_key = True
    key_env_var = "ANTHROPIC_API_KEY"

    _client: AsyncAnthropic | None = None
    _key: str | None = None  # kept only to scrub it from error messages
    _loop: asyncio.AbstractEventLoop | None = None

    def client(self) -> AsyncAnthropic:
        # A client's connections belong to one event loop: make a new one per loop.
        loop = asyncio.get_running_loop()
        if self._client is None or self._loop is not loop:
            import anthropic

            self._key = self.api_key()
            if self._key is None:
                self.check_ready()  # raises UsageError naming the env var
            with sdk_errors(anthropic, self.label, self._key):
                # base_url=None lets the SDK read ANTHROPIC_BASE_URL; max_retries=0 because
                # retrying is tasks.providers.retry's job alone.
                self._client = anthropic.AsyncAnthropic(
                    api_key=self._key,
                    base_url=self.config.base_url or None,
                    max_retries=0,
                    timeout=self.config.timeout_s,
                )
            self._loop = loop
        return self._client

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
        import anthropic

        client = self.client()
        with Stopwatch() as watch, sdk_errors(anthropic, self.label, self._key):
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

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None
