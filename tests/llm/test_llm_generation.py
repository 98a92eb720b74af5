"""What Vivek records about a real SmolLM2 call, on both backends, through ``generate_cells``.

Nothing here asks the model to be good: only that tokens, timings, limits and options
are what the backend really did.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

import httpx
import pytest

from tasks.providers.limits import Limiter
from tasks.providers.llamacpp import load_model, smollm2_path
from tasks.record.types import Generation
from tasks.run.generate import CellOutcome
from tasks.suites.load import load_suite
from tests.llm.conftest import (
    REAL_OPTIONS,
    Backend,
    RealRun,
    content_tokens,
    generate,
    messages_for,
    templated_prompt_tokens,
)

pytestmark = [pytest.mark.llm, pytest.mark.slow]

TASK = load_suite("basic", limit=1).tasks[0]
# llama.cpp reuses the KV cache of the previous prompt's common prefix, and a different
# split of the evaluation can flip a near-tie: a request is only reproducible from the same
# state. So every request of TASK compared below comes right after one of OTHER.
OTHER = load_suite("basic", limit=2).tasks[1]


def vivek_after_other(backend: Backend) -> CellOutcome:
    """TASK through Vivek's provider, right after OTHER (one at a time, in order)."""
    provider = backend.provider(max_concurrency=1)
    outcomes = generate(provider, [OTHER, TASK], limiter=Limiter(shared=False))
    [outcome] = [o for o in outcomes if o.task_id == TASK.id]
    return outcome


def assert_same_reply(ours: Generation, theirs: dict) -> None:
    """Vivek's generation against a raw chat completion of the same request."""
    assert ours.prompt_tokens == theirs["usage"]["prompt_tokens"]
    assert ours.completion_tokens == theirs["usage"]["completion_tokens"]
    assert ours.text == theirs["choices"][0]["message"]["content"]


def test_rows_carry_real_token_counts(real_run: RealRun) -> None:
    for outcome, row in zip(real_run.outcomes, real_run.rows, strict=True):
        assert outcome.ok, outcome.error
        assert row["prompt_tokens"] > 0 and row["completion_tokens"] > 0
        assert row["completion_tokens"] <= REAL_OPTIONS.max_tokens
        assert row["attempts"] == 1 and row["error_kind"] == "" and not row["cached"]


def test_prompt_tokens_equal_llama_cpps_count_of_the_templated_prompt(real_run: RealRun) -> None:
    for outcome in real_run.outcomes:
        expected = templated_prompt_tokens(messages_for(real_run.tasks[outcome.task_id]))
        assert outcome.generation.prompt_tokens == expected, outcome.task_id


@pytest.mark.parametrize("backend", ["server"], indirect=True)
def test_server_tokens_equal_the_servers_usage_for_the_same_request(
    backend: Backend, llama_server_url: str
) -> None:
    def raw(task) -> dict:
        payload = {
            "model": "smollm2",
            "messages": messages_for(task),
            "temperature": REAL_OPTIONS.temperature,
            "max_tokens": REAL_OPTIONS.max_tokens,
            "seed": REAL_OPTIONS.seed,
        }
        url = f"{llama_server_url}/chat/completions"
        return httpx.post(url, json=payload, timeout=600).json()

    ours = vivek_after_other(backend).generation
    raw(OTHER)
    assert_same_reply(ours, raw(TASK))


@pytest.mark.parametrize("backend", ["llamacpp"], indirect=True)
def test_in_process_tokens_equal_a_direct_chat_completion(backend: Backend) -> None:
    llm, lock = load_model(smollm2_path())

    def direct(task) -> dict:
        with lock:
            return llm.create_chat_completion(
                messages=messages_for(task),
                temperature=REAL_OPTIONS.temperature,
                max_tokens=REAL_OPTIONS.max_tokens,
                seed=REAL_OPTIONS.seed,
            )

    ours = vivek_after_other(backend).generation
    direct(OTHER)
    assert_same_reply(ours, direct(TASK))


def test_latency_and_timestamp_are_recorded(real_run: RealRun) -> None:
    for row in real_run.rows:
        assert row["latency_s"] > 0
        stamp = datetime.fromisoformat(row["timestamp"])
        assert stamp.utcoffset() is not None and stamp.utcoffset().total_seconds() == 0


def test_local_models_cost_nothing_and_the_price_is_known(real_run: RealRun) -> None:
    for row in real_run.rows:
        assert row["cost_usd"] == 0.0 and row["price_known"] is True
        assert row["model"] == real_run.backend.spec


def test_rows_record_the_options_that_were_sent(real_run: RealRun) -> None:
    for row in real_run.rows:
        assert row["temperature"] == REAL_OPTIONS.temperature
        assert row["max_tokens"] == REAL_OPTIONS.max_tokens
        assert row["seed"] == REAL_OPTIONS.seed
        assert row["system_prompt"] == REAL_OPTIONS.system_prompt
        assert row["finish_reason"] in ("stop", "length")


def test_same_output_at_temperature_zero_with_a_seed(backend: Backend, real_run: RealRun) -> None:
    tries = [vivek_after_other(backend) for _ in range(2)]
    assert tries[0].ok and tries[0].generation.text
    assert tries[1].generation.text == tries[0].generation.text
    assert tries[1].generation.completion_tokens == tries[0].generation.completion_tokens
    [first] = [o for o in real_run.outcomes if o.task_id == TASK.id]
    assert tries[0].key == first.key  # same cell identity: a rerun would hit the cache


@pytest.mark.parametrize("max_tokens", [3, 12])
def test_max_tokens_is_respected(backend: Backend, max_tokens: int) -> None:
    options = replace(REAL_OPTIONS, max_tokens=max_tokens)
    [outcome] = generate(backend.provider(), [TASK], options)
    assert outcome.ok, outcome.error
    assert 0 < outcome.generation.completion_tokens <= max_tokens
    # A whole function with a docstring never fits in a dozen tokens.
    assert outcome.generation.finish_reason == "length"


def test_the_system_prompt_is_sent(backend: Backend) -> None:
    short = "Be brief."
    long = " ".join(["You are a careful senior Python engineer who writes type hints."] * 3)
    outcomes = {}
    for system in (short, long):
        options = replace(REAL_OPTIONS, system_prompt=system, max_tokens=1)
        [outcomes[system]] = generate(backend.provider(), [TASK], options)
    grown = outcomes[long].generation.prompt_tokens - outcomes[short].generation.prompt_tokens
    # The template wraps the system text in special tokens: the difference is the text's own.
    assert grown == content_tokens(long) - content_tokens(short) > 0
    assert outcomes[long].key != outcomes[short].key  # the system prompt is part of the cell
