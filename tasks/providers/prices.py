"""What a call cost, from genai-prices' price table (or the user's override).

An unknown price is ``None``, never a silent 0: a report must be able to say
"cost unknown" instead of "free".
"""

from __future__ import annotations

import logging
from functools import cache

log = logging.getLogger(__name__)

# Providers that run on the user's own hardware: their calls cost nothing per token.
LOCAL_PROVIDERS = frozenset({"ollama", "openai-compatible", "llamacpp", "mock"})


def cost_usd(
    provider: str,
    model: str,
    prompt_tokens: int | None,
    completion_tokens: int | None,
    override: tuple[float, float] | None = None,
) -> float | None:
    """The price of one call in USD.

    Args:
        provider: Vivek's provider name (``openai``, ``anthropic``, ``ollama``...).
        model: the model name as sent to the API.
        prompt_tokens, completion_tokens: from the reply's usage; None if it had none.
        override: USD per 1M (input, output) tokens; wins over everything else.

    Returns:
        The cost, 0.0 for local providers without an override, None when unknown.
    """
    if override is not None:
        if prompt_tokens is None or completion_tokens is None:
            return None
        return (prompt_tokens * override[0] + completion_tokens * override[1]) / 1e6
    if provider in LOCAL_PROVIDERS:
        return 0.0
    if prompt_tokens is None or completion_tokens is None:
        return None
    return _table_price(provider, model, prompt_tokens, completion_tokens)


def _table_price(
    provider: str, model: str, prompt_tokens: int, completion_tokens: int
) -> float | None:
    import genai_prices

    usage = genai_prices.Usage(input_tokens=prompt_tokens, output_tokens=completion_tokens)
    try:
        price = genai_prices.calc_price(usage, model, provider_id=provider)
    except LookupError:
        _warn_unknown(provider, model)
        return None
    return float(price.total_price)


@cache
def _warn_unknown(provider: str, model: str) -> None:
    log.warning("no price known for %s:%s; its cost will be reported as unknown", provider, model)
