"""What the providers built on an official SDK share: one async client per event loop.

A client's connections belong to the event loop that opened them, so a new loop (a new
``asyncio.run`` in a later Prefect task) gets a new client. The key is read when a client
is made and kept only to scrub it from error messages (:func:`sdk_errors`).
"""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import Any, ClassVar, Generic, Protocol, TypeVar, cast

from tasks.providers.base import Provider
from tasks.providers.retry import sdk_errors


class _Closable(Protocol):
    async def close(self) -> None: ...


C = TypeVar("C", bound=_Closable)


class SDKProvider(Provider, Generic[C]):
    """A provider whose calls go through an official SDK's async client ``C``."""

    sdk: ClassVar[str]  # the SDK's module, imported at the first call
    client_class: ClassVar[str]  # its async client, built with the options below

    _client: C | None = None
    _key: str | None = None  # kept only to scrub it from error messages
    _loop: asyncio.AbstractEventLoop | None = None

    def client_options(self) -> dict[str, Any]:
        """Keyword arguments for the client; subclasses change the URL and key."""
        options: dict[str, Any] = {"api_key": self.api_key()}
        # Else the SDK reads its own variable (OPENAI_BASE_URL, ...), then its default.
        if self.config.base_url:
            options["base_url"] = self.config.base_url
        return options

    def client(self) -> C:
        loop = asyncio.get_running_loop()
        if self._client is None or self._loop is not loop:
            options = self.client_options()
            self._key = options.get("api_key")
            if self._key is None:
                self.check_ready()  # raises UsageError naming the env var
            with self.errors():
                # max_retries=0: retrying is tasks.providers.retry's job alone.
                make = getattr(self.sdk_module(), self.client_class)
                self._client = cast(
                    C, make(max_retries=0, timeout=self.config.timeout_s, **options)
                )
            self._loop = loop
        return self._client

    def sdk_module(self) -> ModuleType:
        return importlib.import_module(self.sdk)

    @contextmanager
    def errors(self) -> Iterator[None]:
        """The SDK's exceptions as ProviderError, the key scrubbed from their text."""
        with sdk_errors(self.sdk_module(), self.label, self._key):
            yield

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None
