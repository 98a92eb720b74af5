"""One registry: provider name -> loader. SDKs are imported lazily, on first use.

Adding a provider means adding a file and one line here.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

from tasks.errors import UsageError
from tasks.providers.base import Provider, ProviderConfig


def _lazy(module: str, cls: str) -> Callable[[], type[Provider]]:
    def load() -> type[Provider]:
        return getattr(importlib.import_module(f"tasks.providers.{module}"), cls)

    return load


PROVIDERS: dict[str, Callable[[], type[Provider]]] = {
    "llamacpp": _lazy("llamacpp", "LlamaCppProvider"),
    "replay": _lazy("replay", "ReplayProvider"),
    "reference": _lazy("reference", "ReferenceProvider"),
    "mock": _lazy("mock", "MockProvider"),
    "openai": _lazy("openai", "OpenAIProvider"),
    "openai-compatible": _lazy("openai_compatible", "OpenAICompatibleProvider"),
    "anthropic": _lazy("anthropic", "AnthropicProvider"),
    "ollama": _lazy("ollama", "OllamaProvider"),
}


def parse_model(spec: str) -> tuple[str, str]:
    """Split ``PROVIDER:MODEL`` on the first colon only (``ollama:qwen2.5-coder:7b``)."""
    spec = spec.strip()
    provider, sep, model = spec.partition(":")
    if not sep or not provider or not model:
        raise UsageError(
            f"Model {spec!r} is not of the form PROVIDER:MODEL "
            f"(providers: {', '.join(sorted(PROVIDERS))})."
        )
    if provider not in PROVIDERS:
        raise UsageError(
            f"Unknown provider {provider!r} in model {spec!r}; "
            f"known providers: {', '.join(sorted(PROVIDERS))}."
        )
    return provider, model


def provider_class(name: str) -> type[Provider]:
    """The class of a provider named in the registry; UsageError when its SDK is missing."""
    try:
        return PROVIDERS[name]()
    except ImportError as exc:
        raise UsageError(
            f"Provider {name!r} needs a package that is not installed ({exc.name}); "
            "run `make install`."
        ) from exc


def resolve(spec: str, config: ProviderConfig | None = None) -> Provider:
    """Build the provider for a model string. Raises UsageError on a bad string."""
    provider, model = parse_model(spec)
    return provider_class(provider)(model, config)
