import pytest

from tasks.cache import GenerationStore, content_key, generation_key
from tasks.generate import generate_cells, render_prompt
from tasks.providers import ProviderConfig, resolve
from tasks.providers.retry import RetryPolicy
from tasks.records import Generation, GenerationOptions, Task

TASKS = [
    Task(id=f"t{i}", prompt=f"Write f{i}.", tests="def test_x():\n    assert True\n")
    for i in range(3)
]


def test_generation_key_depends_on_content_not_run():
    opts = GenerationOptions()
    k = generation_key("openai:gpt", "prompt", opts, 0)
    assert k == generation_key("openai:gpt", "prompt", opts, 0)
    assert k != generation_key("openai:gpt", "prompt", opts, 1)
    assert k != generation_key("openai:gpt", "prompt2", opts, 0)
    assert k != generation_key("openai:gpt", "prompt", GenerationOptions(temperature=0.9), 0)
    assert k != generation_key("openai:gpt4", "prompt", opts, 0)
    assert content_key("a", "bc") != content_key("ab", "c")


def test_store_roundtrip_and_torn_file(tmp_path):
    store = GenerationStore(str(tmp_path))
    gen = Generation(text="x", model="m", prompt_tokens=3, cost_usd=None)
    store.put_generation("ab" * 32, gen)
    assert store.get_generation("ab" * 32) == gen
    assert store.get_generation("cd" * 32) is None
    torn = tmp_path / "generations" / "ef" / ("ef" * 32 + ".json")
    torn.parent.mkdir(parents=True)
    torn.write_text('{"text": ')
    assert store.get_generation("ef" * 32) is None
    assert not list((tmp_path / "generations").rglob("*.tmp"))


@pytest.mark.anyio
async def test_second_run_is_served_from_cache(tmp_path):
    store = GenerationStore(str(tmp_path))
    provider = resolve("mock:x")
    first = await generate_cells(provider, TASKS, 2, GenerationOptions(), store=store)
    assert len(provider.history) == 6 and not any(o.cached for o in first)
    provider2 = resolve("mock:x")
    second = await generate_cells(provider2, TASKS, 2, GenerationOptions(), store=store)
    assert provider2.history == [] and all(o.cached and o.attempts == 0 for o in second)
    assert [o.key for o in first] == [o.key for o in second]
    fresh = await generate_cells(provider2, TASKS, 2, GenerationOptions(), store=store, fresh=True)
    assert len(provider2.history) == 6 and not any(o.cached for o in fresh)


@pytest.mark.anyio
async def test_failures_become_outcomes_with_reasons(tmp_path):
    store = GenerationStore(str(tmp_path))
    policy = RetryPolicy(max_attempts=3)
    out = await generate_cells(
        resolve("mock:fail"), TASKS[:1], 1, GenerationOptions(), store=store, policy=policy
    )
    assert out[0].error_kind == "transient" and out[0].attempts == 3 and not out[0].ok
    out = await generate_cells(
        resolve("mock:permanent"), TASKS[:1], 1, GenerationOptions(), policy=policy
    )
    assert out[0].error_kind == "permanent" and out[0].attempts == 1
    out = await generate_cells(
        resolve("mock:empty"), TASKS[:1], 1, GenerationOptions(), store=store
    )
    assert out[0].error == "empty completion" and not out[0].ok
    assert not list(tmp_path.rglob("*.json"))  # failures are never cached


@pytest.mark.anyio
async def test_unexpected_provider_exception_is_recorded():
    provider = resolve("mock:x", ProviderConfig())

    async def boom(request):
        raise RuntimeError("bug")

    provider.generate = boom
    out = await generate_cells(provider, TASKS[:1], 1, GenerationOptions())
    assert out[0].error_kind == "internal" and "bug" in out[0].error


def test_render_prompt_wraps_code_prompts():
    code_task = Task(id="h", prompt="def f():\n", tests="", prompt_is_code=True)
    assert "```python\ndef f():\n```" in render_prompt(code_task)
    assert render_prompt(TASKS[0]) == "Write f0.\n"
