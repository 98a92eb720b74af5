"""Embedded model: tokens/s through the ``llamacpp`` provider vs llama-cpp-python directly.

Both sides load the same GGUF file with the same ``n_ctx`` and ``n_threads`` and
send the same messages (temperature 0, fixed seed). Each side has its own
Llama instance, so neither reuses the other's prompt-prefix cache; calls are paired
per prompt, the first side alternating.
"""

from __future__ import annotations

import asyncio
import statistics
import time

from bench.common import Outcome, humaneval_tasks
from tasks.providers.llamacpp import default_threads

TARGET = 0.95
SEED = 1234


def _messages(request) -> list[dict[str, str]]:
    opts = request.options
    system = [{"role": "system", "content": opts.system_prompt}] if opts.system_prompt else []
    return [*system, {"role": "user", "content": request.prompt}]


def direct_model(path):
    """A second Llama on the same file, built the way the provider builds its own."""
    from llama_cpp import Llama

    from tasks.providers.llamacpp import N_CTX

    return Llama(model_path=str(path), n_ctx=N_CTX, n_threads=default_threads(), verbose=False)


async def _provider_call(provider, request) -> tuple[int, float]:
    start = time.perf_counter()
    generation = await provider.generate(request)
    return generation.completion_tokens or 0, time.perf_counter() - start


def _direct_call(llm, request) -> tuple[int, float]:
    start = time.perf_counter()
    reply = llm.create_chat_completion(
        messages=_messages(request),
        temperature=request.options.temperature,
        max_tokens=request.options.max_tokens,
        seed=SEED,
    )
    return reply["usage"]["completion_tokens"], time.perf_counter() - start


async def measure(n_prompts: int, max_tokens: int, reps: int) -> dict:
    """Paired calls: each prompt goes to both sides back to back, first side alternating.

    The figure is the median over pairs of the tokens/s ratio, which cancels the
    slow drifts of a shared machine's load better than comparing two medians.
    """
    from tasks.providers.llamacpp import LlamaCppProvider, load_model
    from tasks.record.types import GenerationOptions, GenerationRequest
    from tasks.run.generate import render_prompt

    provider = LlamaCppProvider("smollm2")
    load_model(provider.path)
    llm = direct_model(provider.path)
    options = GenerationOptions(temperature=0.0, max_tokens=max_tokens, seed=SEED)
    requests = [
        GenerationRequest(prompt=render_prompt(t), options=options, task_id=t.id, sample=0)
        for t in humaneval_tasks(n_prompts)
    ]
    # Warm-up outside the timing: first-call allocations on both models.
    await _provider_call(provider, requests[-1])
    _direct_call(llm, requests[-1])
    prov, direct, ratios = [], [], []
    for rep in range(reps):
        for i, request in enumerate(requests):
            if (rep + i) % 2 == 0:
                p = await _provider_call(provider, request)
                d = _direct_call(llm, request)
            else:
                d = _direct_call(llm, request)
                p = await _provider_call(provider, request)
            prov.append(p)
            direct.append(d)
            if p[0] and d[0]:
                ratios.append((p[0] / p[1]) / (d[0] / d[1]))
    return {
        "ratio_median": statistics.median(ratios),
        "provider_tokens_per_s": statistics.median(t / s for t, s in prov),
        "direct_tokens_per_s": statistics.median(t / s for t, s in direct),
        "pair_ratios": [round(r, 3) for r in ratios],
        "provider_tokens": sum(t for t, _ in prov),
        "direct_tokens": sum(t for t, _ in direct),
        "prompts": len(requests),
        "max_tokens": max_tokens,
        "reps": reps,
        "n_threads": default_threads(),
    }


def run(quick: bool = False) -> Outcome:
    n_prompts, max_tokens, reps = (1, 8, 1) if quick else (5, 128, 5)
    m = asyncio.run(measure(n_prompts, max_tokens, reps))
    ratio = m["ratio_median"]
    notes = (
        f"SmolLM2-135M Q4_1, {n_prompts} HumanEval prompts, temperature 0, max_tokens "
        f"{max_tokens}, seed {SEED}; {reps} repetitions of paired calls (same prompt to both "
        "sides back to back, which goes first alternating); figure = median per-pair ratio of "
        "tokens/s (completion tokens / call wall time, prompt processing included)."
    )
    if m["provider_tokens"] != m["direct_tokens"]:
        notes += f" Token counts differ ({m['provider_tokens']} vs {m['direct_tokens']})."
    if ratio < TARGET:
        notes += (
            f" Missed: per-pair ratios {m['pair_ratios']}; their spread is the machine's "
            "load (see the load column), the provider adds one thread hop per call."
        )
    return Outcome(
        name="embedded_model",
        figure="embedded model tokens/s (llamacpp provider / llama-cpp-python direct)",
        value=round(ratio, 3),
        unit="x",
        target=f">= {TARGET:.0%}",
        met=ratio >= TARGET,
        details={k: (round(v, 2) if isinstance(v, float) else v) for k, v in m.items()},
        notes=notes,
    )
