"""Values from the wire made safe: every field of a Generation gets a clean type or a reason.

Providers, replay files and cache entries hand Vivek whatever a server or a file held:
a lone surrogate in a reply, a token count sent as ``"ten"``, an integer
``finish_reason``, a ``content`` that is a list of parts, ``null``. :func:`clean_generation`
turns such a value into a Generation whose every field has its documented type, or
raises :class:`~tasks.errors.ProviderError` (``permanent``) naming what was wrong, so the
cell becomes a ``generation_error`` row and no other row is touched.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from tasks.errors import ProviderError
from tasks.record.types import Generation

MAX_TEXT_CHARS = 1_000_000  # longer replies are cut: a check would never finish on them
MAX_SHORT_CHARS = 200  # finish reasons, model names, timestamps
MAX_TOKENS = 2**53  # beyond any real count; also fits Parquet's int64 and a JSON double
_SURROGATES = re.compile("[\ud800-\udfff]")


def field(obj: Any, name: str) -> Any:
    """``obj[name]`` or ``obj.name``, None when absent: SDK objects and plain JSON alike."""
    if isinstance(obj, Mapping):
        return obj.get(name)
    return getattr(obj, name, None)


def clean_str(value: str, limit: int = MAX_TEXT_CHARS) -> str:
    """Valid UTF-8 text: lone surrogates become U+FFFD, NUL is kept, length is capped."""
    if _SURROGATES.search(value):
        value = _SURROGATES.sub("\ufffd", value)
    return value[:limit]


def reply_text(value: Any, what: str = "reply content") -> str:
    """A reply's text from a string, ``None`` (empty) or a list of content parts.

    Content parts are OpenAI's ``[{"type": "text", "text": ...}]`` (and Anthropic's
    blocks); parts that carry no text (images, tool calls) are skipped.
    """
    if value is None:
        return ""
    if isinstance(value, str):
        return clean_str(value)
    if isinstance(value, list | tuple):
        texts = []
        for part in value:
            text = part.get("text") if isinstance(part, Mapping) else getattr(part, "text", None)
            if isinstance(part, str):
                text = part
            if text is not None and not isinstance(text, str):
                raise ProviderError(
                    f"{what}: a content part's text is {type(text).__name__}, not a string",
                    kind="permanent",
                )
            texts.append(text or "")
        return clean_str("".join(texts))
    raise ProviderError(f"{what} is {type(value).__name__}, not text", kind="permanent")


def token_count(value: Any) -> int | None:
    """A token count, or None when the server sent something that is not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        value = value.strip()
        if not value.isdigit():
            return None
        value = int(value)
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        value = int(value)
    if isinstance(value, int) and 0 <= value <= MAX_TOKENS:
        return value
    return None


def short_text(value: Any) -> str | None:
    """A label such as ``finish_reason``: any scalar as a short string, else None."""
    if value is None or isinstance(value, Mapping | list | tuple | set):
        return None
    return clean_str(value if isinstance(value, str) else str(value), MAX_SHORT_CHARS)


def number(value: Any, *, low: float = 0.0, high: float = 1e12) -> float | None:
    """A finite float in [low, high], else None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    value = float(value)
    return value if math.isfinite(value) and low <= value <= high else None


def clean_generation(gen: Any) -> Generation:
    """Every field of ``gen`` with its documented type; ProviderError if the text is unusable."""
    if not isinstance(gen, Generation):
        raise ProviderError(
            f"the provider returned {type(gen).__name__}, not a Generation", kind="permanent"
        )
    attempts = gen.attempts if isinstance(gen.attempts, int) and gen.attempts >= 0 else 1
    return replace(
        gen,
        text=reply_text(gen.text),
        model=short_text(gen.model) or "",
        prompt_tokens=token_count(gen.prompt_tokens),
        completion_tokens=token_count(gen.completion_tokens),
        latency_s=number(gen.latency_s),
        cost_usd=number(gen.cost_usd),
        timestamp=short_text(gen.timestamp),
        temperature=number(gen.temperature, high=100.0),
        temperature_sent=number(getattr(gen, "temperature_sent", None), high=100.0),
        finish_reason=short_text(gen.finish_reason),
        attempts=min(attempts, 1_000_000),
        extra=gen.extra if isinstance(gen.extra, dict) else {},
    )


def stored_generation(data: Any) -> Generation | None:
    """A Generation read back from a cache entry, or None if the entry is not a valid one.

    Strict: a cache entry is Vivek's own writing, so any wrong type or unclean text means
    it was damaged or written by something else, and the cell is generated again.
    """
    if not isinstance(data, dict) or not isinstance(data.get("text"), str):
        return None
    try:
        gen = Generation.from_dict(data)
        cleaned = clean_generation(gen)
    except (TypeError, ValueError, ProviderError):
        return None
    # Cleaning changes nothing in a valid entry: any difference is a damaged value.
    return gen if cleaned == gen else None
