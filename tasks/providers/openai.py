"""``openai:MODEL``: OpenAI's Chat Completions API through the official SDK.

An empty or null completion is not an error here: the provider returns ``text=""`` and
the checks record it as ``no_code``, because retrying a model that chose to say nothing
would only repeat the cost. ``content`` sent as a list of parts is joined; any field of
the wrong type is cleaned or becomes a ``generation_error`` (``tasks.providers.wire``).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any, ClassVar

from tasks.errors import ProviderError
from tasks.providers.base import Provider, Stopwatch
from tasks.providers.retry import sdk_errors
from tasks.providers.wire import field, short_text
from tasks.record.types import Generation, GenerationRequest

if TYPE_CHECKING:
    from openai import AsyncOpenAI


def chat_messages(request: GenerationRequest) -> list[dict[str, str]]:
    """The system prompt (if any) and the user prompt, in chat-message form."""
    messages = []
    if request.options.system_prompt:
        messages.append({"role": "system", "content": request.options.system_prompt})
    messages.append({"role": "user", "content": request.prompt})
    return messages


class OpenAIProvider(Provider):
    name = "openai"
    needs_key = True
    key_env_var = "OPENAI_API_KEY"
    # OpenAI's newer models accept only max_completion_tokens; most compatible servers
    # (llama.cpp, vLLM) know only max_tokens.
    max_tokens_param: ClassVar[str] = "max_completion_tokens"

    _client: AsyncOpenAI | None = None
    _key: str | None = None  # kept only to scrub it from error messages
    _loop: asyncio.AbstractEventLoop | None = None

    def client_options(self) -> dict[str, Any]:
        """Keyword arguments for ``AsyncOpenAI``; subclasses change the URL and key."""
        options: dict[str, Any] = {"api_key": self.api_key()}
        if self.config.base_url:  # else the SDK reads OPENAI_BASE_URL, then its default
            options["base_url"] = self.config.base_url
        return options

    def client(self) -> AsyncOpenAI:
        # A client's connections belong to one event loop: make a new one per loop.
        loop = asyncio.get_running_loop()
        if self._client is None or self._loop is not loop:
            import openai

            options = self.client_options()
            self._key = options.get("api_key")
            if self._key is None:
                self.check_ready()  # raises UsageError naming the env var
            with sdk_errors(openai, self.label, self._key):
                # max_retries=0: retrying is tasks.providers.retry's job alone.
                self._client = openai.AsyncOpenAI(
                    max_retries=0, timeout=self.config.timeout_s, **options
                )
            self._loop = loop
        return self._client

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
        import openai

        client = self.client()
        with Stopwatch() as watch, sdk_errors(openai, self.label, self._key):
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

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None
