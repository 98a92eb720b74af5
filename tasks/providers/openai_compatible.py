"""``openai-compatible:MODEL``: any server that speaks OpenAI's Chat Completions API.

llama.cpp's server, vLLM, LM Studio and friends. Only the URL, the key and the
price differ from :mod:`tasks.providers.openai`.
"""

from __future__ import annotations

import os
from typing import Any, ClassVar
from urllib.parse import urlsplit

from tasks.errors import UsageError
from tasks.providers.openai import OpenAIProvider


class OpenAICompatibleProvider(OpenAIProvider):
    name = "openai-compatible"
    needs_key = False  # most local servers ignore the key
    # Its own variable: the OpenAI key must never travel to a third-party server.
    key_env_var = "OPENAI_COMPATIBLE_API_KEY"
    local = True  # cost 0 unless the config sets price_per_mtok
    max_tokens_param: ClassVar[str] = "max_tokens"

    @property
    def concurrency_key(self) -> str:
        """One limit per server (host:port), shared by every model it serves."""
        parts = urlsplit(self._base_url())
        return f"{self.name}:{parts.hostname}:{parts.port or ''}"

    def _base_url(self) -> str:
        if not self.config.base_url:
            raise UsageError(
                f"{self.label} needs the server's URL: pass --base-url "
                "(e.g. --base-url http://127.0.0.1:8080/v1) or set base_url in the config."
            )
        return self.config.base_url

    def check_ready(self) -> None:
        self._base_url()
        super().check_ready()

    def client_options(self) -> dict[str, Any]:
        # The SDK insists on some key; local servers accept any.
        return {
            "base_url": self._base_url(),
            "api_key": os.environ.get("OPENAI_COMPATIBLE_API_KEY") or "not-needed",
        }
