"""Costs from genai-prices' table, overrides, local providers and unknown models."""

from __future__ import annotations

import logging
from decimal import Decimal

import genai_prices
import pytest

from tasks.providers.prices import cost_usd


def table_price(provider: str, model: str) -> tuple[Decimal, Decimal]:
    """USD per 1M (input, output) tokens, read from genai-prices' own data."""
    price = genai_prices.calc_price(
        genai_prices.Usage(input_tokens=0, output_tokens=0), model, provider_id=provider
    ).model_price
    return price.input_mtok, price.output_mtok


@pytest.mark.parametrize(
    ("provider", "model"), [("openai", "gpt-4o"), ("anthropic", "claude-3-5-sonnet-latest")]
)
def test_known_model_matches_the_table(provider: str, model: str) -> None:
    input_mtok, output_mtok = table_price(provider, model)
    assert input_mtok > 0 and output_mtok > 0
    expected = float((1234 * input_mtok + 567 * output_mtok) / 1_000_000)
    assert cost_usd(provider, model, 1234, 567) == pytest.approx(expected)


def test_gpt_4o_figures() -> None:
    # $2.50 / $10 per 1M tokens in genai-prices 0.2.3.
    assert cost_usd("openai", "gpt-4o", 1_000_000, 1_000_000) == pytest.approx(12.5)


def test_unknown_model_is_none_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        assert cost_usd("openai", "no-such-model-xyz", 10, 10) is None
    assert "no-such-model-xyz" in caplog.text


def test_missing_usage_is_unknown() -> None:
    assert cost_usd("openai", "gpt-4o", None, 10) is None
    assert cost_usd("openai", "gpt-4o", 10, 10, override=(1.0, 1.0)) == pytest.approx(2e-5)
    assert cost_usd("ollama", "m", None, None, override=(1.0, 1.0)) is None


def test_local_providers_are_free_unless_overridden() -> None:
    assert cost_usd("ollama", "qwen2.5-coder:7b", 100, 100) == 0.0
    assert cost_usd("openai-compatible", "smol", None, None) == 0.0
    assert cost_usd("ollama", "m", 2_000_000, 1_000_000, override=(0.5, 2.0)) == pytest.approx(3.0)


def test_override_wins_over_the_table() -> None:
    assert cost_usd("openai", "gpt-4o", 1_000_000, 0, override=(9.0, 0.0)) == pytest.approx(9.0)
