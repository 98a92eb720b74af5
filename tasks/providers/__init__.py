"""Model providers behind one interface, resolved from ``PROVIDER:MODEL`` strings."""

from tasks.providers.base import Provider, ProviderConfig
from tasks.providers.registry import PROVIDERS, parse_model, resolve

__all__ = ["PROVIDERS", "Provider", "ProviderConfig", "parse_model", "resolve"]
