"""Generation of cells (model x task x sample): plain async Python, no Prefect.

Each cell goes cache -> limiter -> retry layer -> provider, and is stored the
moment it completes. Any failure becomes an outcome with a reason: one cell's
failure never fails the run.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence

from tasks.errors import ProviderError
from tasks.providers.base import Provider
from tasks.providers.wire import clean_str
from tasks.record.types import CellOutcome, GenerationOptions, GenerationRequest, Task
from tasks.run.cache import GenerationStore, generation_key

log = logging.getLogger("vivek.generate")

CHAT_CODE_PROMPT = (
    "Complete the following Python function. Reply with the whole function "
    "in one ```python fenced block.\n\n```python\n{prompt}```\n"
)


def render_prompt(task: Task) -> str:
    """What the model is sent for a task."""
    if task.prompt_is_code:
        return CHAT_CODE_PROMPT.format(prompt=task.prompt)
    return task.prompt.strip() + "\n"


def cache_identity(provider: Provider) -> str:
    """Who answers: the label, plus the endpoint when one is configured."""
    identity = getattr(provider, "cache_identity", provider.label)
    base_url = provider.config.base_url
    return f"{identity}@{base_url}" if base_url else identity


async def generate_cell(
    provider: Provider,
    task: Task,
    sample: int,
    options: GenerationOptions,
    *,
    store: GenerationStore | None = None,
    fresh: bool = False,
    limiter=None,
    policy=None,
) -> CellOutcome:
    from tasks.providers.retry import generate_with_retry

    prompt = render_prompt(task)
    key = generation_key(cache_identity(provider), prompt, options, sample, task.id)
    outcome = CellOutcome(
        model=provider.label,
        provider=provider.name,
        task_id=task.id,
        sample=sample,
        key=key,
        options=options,
    )
    if store is not None and not fresh:
        cached = store.get_generation(key)
        if cached is not None:
            outcome.generation, outcome.cached, outcome.attempts = cached, True, 0
            return outcome
    request = GenerationRequest(prompt=prompt, options=options, task_id=task.id, sample=sample)
    try:
        generation = await generate_with_retry(provider, request, policy=policy, limiter=limiter)
    except ProviderError as exc:
        outcome.error = clean_str(str(exc) or exc.__class__.__name__, 500)
        outcome.error_kind = exc.kind
        outcome.attempts = getattr(exc, "attempts", 1)
        return outcome
    except Exception as exc:  # a provider bug must not sink the run: record it
        log.exception("provider %s raised unexpectedly", provider.label)
        outcome.error = clean_str(f"{exc.__class__.__name__}: {exc}", 500)
        outcome.error_kind = "internal"
        outcome.attempts = 1
        return outcome
    outcome.generation, outcome.attempts = generation, generation.attempts
    # An empty reply is a valid answer with no code in it (status no_code), and is kept:
    # at the same settings the model would most likely say nothing again.
    if store is not None:
        store.put_generation(key, generation)  # a failed write is logged, never fatal
    return outcome


async def generate_cells(
    provider: Provider,
    tasks: Sequence[Task],
    samples: int,
    options: GenerationOptions,
    *,
    store: GenerationStore | None = None,
    fresh: bool = False,
    limiter=None,
    policy=None,
    on_done: Callable[[CellOutcome], None] | None = None,
) -> list[CellOutcome]:
    """Generate every (task, sample) cell for one provider, concurrently.

    Concurrency is bounded by the limiter (per provider or per host), not here.
    """

    async def one(task: Task, sample: int) -> CellOutcome:
        out = await generate_cell(
            provider,
            task,
            sample,
            options,
            store=store,
            fresh=fresh,
            limiter=limiter,
            policy=policy,
        )
        if on_done is not None:
            on_done(out)
        return out

    return list(await asyncio.gather(*(one(t, s) for t in tasks for s in range(samples))))
