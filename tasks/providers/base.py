"""The provider interface: one async method, ``generate``.

A provider is one file that subclasses :class:`Provider` and is named in
``tasks.providers.registry``. Providers never retry: they translate their SDK's
errors into :class:`~tasks.errors.ProviderError` with a ``kind`` and the one
retry layer (``tasks.providers.retry``) decides what to do.
"""

from __future__ import annotations

import os
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

from tasks.errors import UsageError
from tasks.record.types import Generation, GenerationRequest


@dataclass(frozen=True)
class ProviderConfig:
    """Per-provider settings from the config file or CLI flags (never a key)."""

    base_url: str | None = None
    timeout_s: float = 120.0
    max_concurrency: int = 4
    requests_per_minute: float | None = None
    price_per_mtok: tuple[float, float] | None = None  # (input, output) USD per 1M tokens
    options: dict[str, Any] = field(default_factory=dict)


class Provider(ABC):
    """Base class for a model provider.

    Class attributes declare capabilities, as simonw/llm does:
    ``needs_key`` and ``key_env_var`` drive the one place keys are looked up.
    """

    name: ClassVar[str]
    needs_key: ClassVar[bool] = False
    key_env_var: ClassVar[str | None] = None
    local: ClassVar[bool] = False  # local models cost 0
    # Calls in flight at once when the settings name none (``max_concurrency``).
    default_concurrency: ClassVar[int] = ProviderConfig.max_concurrency
    # Calls an endpoint other processes may call too: limits shared through Prefect's server.
    shared_limits: ClassVar[bool] = True

    def __init__(self, model: str, config: ProviderConfig | None = None) -> None:
        self.model = model
        self.config = config or ProviderConfig(max_concurrency=self.default_concurrency)
        self.reached = False  # a call got through in this run
        self.unreachable: str | None = None  # why later calls fail at once

    @property
    def label(self) -> str:
        """The model's name in results: ``provider:model``."""
        return f"{self.name}:{self.model}"

    @property
    def concurrency_key(self) -> str:
        """Calls sharing this key share one concurrency limit (per provider, or per host)."""
        return self.name

    def check_ready(self) -> None:
        """Fail fast before any generation: a missing SDK, key or file raises UsageError."""
        if self.needs_key and self.key_env_var and not self.api_key():
            raise UsageError(
                f"{self.label} needs an API key: set the environment variable "
                f"{self.key_env_var} (or store it in a Prefect Secret block named "
                f"'{self.key_env_var.lower().replace('_', '-')}')."
            )

    def api_key(self) -> str | None:
        """The key, read at call time from the env var or a Prefect Secret block."""
        if not self.key_env_var:
            return None
        key = os.environ.get(self.key_env_var)
        if key:
            return key
        return _secret_block(self.key_env_var.lower().replace("_", "-"))

    def metered(
        self,
        text: Any,
        prompt_tokens: Any,
        completion_tokens: Any,
        latency_s: float,
        **fields: Any,
    ) -> Generation:
        """A Generation with the call's metrics and its cost (None when the price is unknown).

        ``text`` and the token counts may be anything the server sent: they are cleaned
        here (:mod:`tasks.providers.wire`), and a count that is not one becomes None.
        """
        from tasks.providers.prices import cost_usd
        from tasks.providers.wire import reply_text, token_count

        text = reply_text(text)
        prompt_tokens, completion_tokens = (
            token_count(prompt_tokens),
            token_count(completion_tokens),
        )

        cost = cost_usd(
            self.name, self.model, prompt_tokens, completion_tokens, self.config.price_per_mtok
        )
        return Generation(
            text=text,
            model=self.label,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            latency_s=latency_s,
            cost_usd=cost,
            timestamp=now_iso(),
            **fields,
        )

    @abstractmethod
    async def generate(self, request: GenerationRequest) -> Generation:
        """Make one call. Raises ProviderError on failure."""

    async def aclose(self) -> None:  # noqa: B027 - optional hook, not abstract
        """Release clients; the default has nothing to release."""


def _secret_block(name: str) -> str | None:
    # Only consulted when the env var is absent and a Prefect server is configured: with
    # none, looking a block up would start a temporary server (20-30 s) to find nothing.
    # Any failure means "no key".
    try:
        if not _prefect_api_configured():
            return None
        from prefect.blocks.system import Secret

        return Secret.load(name, _sync=True).get()  # type: ignore[call-arg, union-attr]
    except Exception:
        return None


def _prefect_api_configured() -> bool:
    """Is a Prefect API URL set? Answered without importing Prefect (3 s) when possible."""
    if os.environ.get("PREFECT_API_URL"):
        return True
    home = Path(os.environ.get("PREFECT_HOME", "~/.prefect")).expanduser()
    profiles = Path(os.environ.get("PREFECT_PROFILES_PATH", home / "profiles.toml"))
    try:
        if "PREFECT_API_URL" not in profiles.read_text(encoding="utf-8", errors="replace"):
            return False
    except OSError:
        return False
    from prefect.settings import PREFECT_API_URL  # a profile may set it: ask Prefect

    return bool(PREFECT_API_URL.value())


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class Stopwatch:
    """``with Stopwatch() as sw: ...; sw.elapsed`` in seconds (monotonic)."""

    def __enter__(self) -> Stopwatch:
        self.start = time.perf_counter()
        self.elapsed = 0.0
        return self

    def __exit__(self, *exc: object) -> None:
        self.elapsed = time.perf_counter() - self.start
