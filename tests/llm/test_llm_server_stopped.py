"""A llama.cpp server that dies mid-run: the finished cells stay, the rest become reasons.

The test starts its own server (the session's shared one must live on), lets two
cells finish one at a time, then stops the server from the ``on_done`` callback.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from synthetic import table_of

from tasks.providers.limits import Limiter
from tasks.providers.retry import RetryPolicy
from tasks.record.checks import CHECK_COLUMNS
from tasks.run.generate import CellOutcome
from tasks.suites.load import load_suite
from tests.llm.conftest import REAL_OPTIONS, Backend, check_rows, generate, stoppable_server

pytestmark = [pytest.mark.llm, pytest.mark.slow]

TASKS = load_suite("basic", limit=4).tasks
SAMPLES = 2  # 4 tasks x 2 samples = 8 cells
STOP_AFTER = 2
# A failed generation measured nothing: these columns are null, and no others.
GENERATION = {
    "prompt_tokens",
    "completion_tokens",
    "latency_s",
    "cost_usd",
    "price_known",
    "temperature_sent",
    "finish_reason",
    "timestamp",
}
SCORED = {"status", "error", "overall_score", "score_breakdown"}
# A cell that was never checked was never re-run either: retried is False, never null.
NOT_MEASURED = GENERATION | (set(CHECK_COLUMNS) - SCORED - {"retried"})


@pytest.fixture(scope="module")
def stopped_run() -> dict[str, Any]:
    done: list[CellOutcome] = []
    with stoppable_server() as server:
        provider = Backend("server", "openai-compatible:smollm2", server.base_url).provider(
            max_concurrency=1, timeout_s=600
        )

        def on_done(outcome: CellOutcome) -> None:
            done.append(outcome)
            if len(done) == STOP_AFTER:
                # Runs before the next cell gets its slot: that cell finds no server.
                server.stop()

        outcomes = generate(
            provider,
            TASKS,
            replace(REAL_OPTIONS, max_tokens=8),
            samples=SAMPLES,
            limiter=Limiter(),
            policy=RetryPolicy(max_attempts=2),
            on_done=on_done,
        )
        stopped = server.process.poll() is not None
    tasks = {t.id: t for t in TASKS}
    return {
        "outcomes": outcomes,
        "done": done,
        "stopped": stopped,
        "rows": check_rows(outcomes, tasks),
    }


def test_every_cell_has_an_outcome_and_the_server_was_stopped(stopped_run) -> None:
    assert stopped_run["stopped"]
    assert len(stopped_run["outcomes"]) == len(stopped_run["done"]) == len(TASKS) * SAMPLES
    assert {(o.task_id, o.sample) for o in stopped_run["outcomes"]} == {
        (t.id, s) for t in TASKS for s in range(SAMPLES)
    }


def test_cells_finished_before_the_stop_are_intact(stopped_run) -> None:
    first = stopped_run["done"][:STOP_AFTER]
    assert all(o.ok and o.error == "" and o.attempts == 1 for o in first)
    assert all(o.generation.prompt_tokens > 0 for o in first)
    assert all(0 < o.generation.completion_tokens <= 8 for o in first)


def test_cells_after_the_stop_are_transient_errors_with_a_reason(stopped_run) -> None:
    rest = stopped_run["done"][STOP_AFTER:]
    assert rest and all(not o.ok and o.generation is None for o in rest)
    assert {o.error_kind for o in rest} == {"transient"}
    assert all("openai-compatible:smollm2" in o.error and "connection" in o.error for o in rest)
    assert {o.attempts for o in rest} == {2}  # retried once, then given up


def test_the_rows_say_generation_error_and_fit_the_schema(stopped_run) -> None:
    rows = stopped_run["rows"]
    table_of(rows)  # the run can still be written
    failed = [r for r in rows if r["status"] == "generation_error"]
    assert len(failed) == len(TASKS) * SAMPLES - STOP_AFTER
    for row in failed:
        assert row["error"] and row["error_kind"] == "transient" and row["completion"] == ""
        assert {k for k, v in row.items() if v is None} == NOT_MEASURED
        assert row["retried"] is False
        assert row["overall_score"] == 0.0  # a failed generation counts against the model
    kept = [r for r in rows if r["status"] != "generation_error"]
    assert len(kept) == STOP_AFTER and all(r["prompt_tokens"] > 0 for r in kept)
