"""``ollama:MODEL``: a local Ollama server's native ``/api/chat``.

Model names keep their tags (``ollama:qwen2.5-coder:7b``): the registry splits
the model string on its first colon only.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

import httpx

from tasks.errors import ProviderError
from tasks.providers.base import Provider, Stopwatch
from tasks.providers.openai import chat_messages
from tasks.providers.retry import (
    connection_error,
    error_message,
    kind_for_status,
    parse_retry_after,
    redact,
)
from tasks.record.types import Generation, GenerationRequest

DEFAULT_HOST = "http://localhost:11434"


def host_url(host: str | None) -> str:
    """Normalise ``OLLAMA_HOST``, which may lack a scheme or port (``0.0.0.0:11434``)."""
    host = (host or DEFAULT_HOST).strip().rstrip("/")
    if "://" not in host:
        host = f"http://{host}"
    parts = urlsplit(host)
    if parts.port is None and parts.scheme == "http":
        host = host.replace(f"//{parts.netloc}", f"//{parts.netloc}:11434", 1)
    return host


@contextmanager
def _http_errors(label: str) -> Iterator[None]:
    try:
        yield
    except httpx.HTTPStatusError as exc:
        response = exc.response
        try:
            reason = error_message(response.json(), response.reason_phrase)
        except ValueError:
            reason = response.reason_phrase
        raise ProviderError(
            redact(f"{label}: HTTP {response.status_code}: {reason}"),  # a server may echo a key
            kind=kind_for_status(response.status_code),
            retry_after=parse_retry_after(response.headers),
            status_code=response.status_code,
        ) from exc
    except httpx.TimeoutException as exc:
        raise ProviderError(f"{label}: request timed out", kind="transient") from exc
    except httpx.TransportError as exc:
        url = str(exc.request.url) if exc._request is not None else ""
        raise connection_error(label, exc, url) from exc
    except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError) as exc:
        raise ProviderError(f"{label}: malformed reply from the server", kind="transient") from exc


class OllamaProvider(Provider):
    name = "ollama"
    local = True

    _client: httpx.AsyncClient | None = None
    _loop: asyncio.AbstractEventLoop | None = None

    @property
    def host(self) -> str:
        return host_url(self.config.base_url or os.environ.get("OLLAMA_HOST"))

    @property
    def concurrency_key(self) -> str:
        """One limit per Ollama server, shared by every model it serves."""
        return f"{self.name}:{urlsplit(self.host).netloc}"

    def request_body(self, request: GenerationRequest) -> dict[str, Any]:
        opts = request.options
        options: dict[str, Any] = {"temperature": opts.temperature, "num_predict": opts.max_tokens}
        if opts.seed is not None:
            options["seed"] = opts.seed
        if opts.top_p is not None:
            options["top_p"] = opts.top_p
        return {
            "model": self.model,
            "messages": chat_messages(request),
            "stream": False,
            "options": options | self.config.options,
        }

    async def generate(self, request: GenerationRequest) -> Generation:
        loop = asyncio.get_running_loop()  # a client's connections belong to one loop
        if self._client is None or self._loop is not loop:
            self._client = httpx.AsyncClient(base_url=self.host, timeout=self.config.timeout_s)
            self._loop = loop
        with Stopwatch() as watch, _http_errors(self.label):
            response = await self._client.post("/api/chat", json=self.request_body(request))
            response.raise_for_status()
            reply = response.json()
        if not isinstance(reply, dict) or not isinstance(reply.get("message"), dict):
            raise ProviderError(f"{self.label}: malformed reply from the server", kind="transient")
        return self.metered(
            reply["message"].get("content"),
            reply.get("prompt_eval_count"),
            reply.get("eval_count"),
            watch.elapsed,
            temperature=request.options.temperature,
            temperature_sent=self.config.options.get("temperature", request.options.temperature),
            finish_reason=reply.get("done_reason"),
            extra={
                k: reply[k]
                for k in ("total_duration", "eval_duration")
                if isinstance(reply.get(k), int)
            },
        )

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None
