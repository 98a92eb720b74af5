import pytest

from tasks.providers import ProviderConfig, resolve
from tasks.providers.retry import RetryPolicy
from tasks.record.types import Generation, GenerationOptions, Task
from tasks.run.cache import GenerationStore, content_key, generation_key
from tasks.run.generate import generate_cells, render_prompt

TASKS = [
    Task(id=f"t{i}", prompt=f"Write f{i}.", tests="def test_x():\n    assert True\n")
    for i in range(3)
]


def test_generation_key_depends_on_content_not_run():
    opts = GenerationOptions()
    k = generation_key("openai:gpt", "prompt", opts, 0)
    assert k != generation_key("openai:gpt", "prompt", opts, 0, "other_task")
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
    # An empty reply is an answer without code (no_code when checked), and is cached.
    assert out[0].ok and out[0].generation.text == "" and out[0].error == ""
    assert len(list(tmp_path.rglob("*.json"))) == 1  # failures are never cached


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


@pytest.mark.anyio
async def test_two_tasks_with_one_prompt_are_two_cells(tmp_path):
    """Issue 13.2: the key holds the task id, so the second task is really generated."""
    store = GenerationStore(str(tmp_path))
    twins = [Task(id=name, prompt="Write f.", tests="") for name in ("first", "second")]
    provider = resolve("mock:x", ProviderConfig(options={"outputs": ["A", "B"]}))
    out = await generate_cells(provider, twins, 1, GenerationOptions(), store=store)
    assert len(provider.history) == 2 and not any(o.cached for o in out)
    assert out[0].key != out[1].key
    assert {o.task_id: o.generation.text for o in out} == {"first": "A", "second": "B"}


@pytest.mark.parametrize("content", ["[]", '"x"', '{"text": 5, "model": "m"}', "{"])
def test_invalid_cache_entries_are_absent(tmp_path, content):
    from tasks.run.cache import CheckStore

    for kind in ("generations", "checks"):
        path = tmp_path / kind / "ab" / ("ab" * 32 + ".json")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
    assert GenerationStore(str(tmp_path)).get_generation("ab" * 32) is None
    assert CheckStore(str(tmp_path)).get("ab" * 32) is None


def test_check_entry_of_the_wrong_shape_is_absent(tmp_path):
    from tasks.run.cache import CheckStore

    store = CheckStore(str(tmp_path))
    store.put("k1", {"status": "pass", "tests_passed": 2})
    assert store.get("k1") == {"status": "pass", "tests_passed": 2}
    store.put("k2", {"status": "winning"})
    store.put("k3", {"status": "pass", "tests_passed": "two"})
    store.put("k4", {"status": "pass", "no_such_column": 1})
    assert [store.get(k) for k in ("k2", "k3", "k4")] == [None, None, None]
    assert CheckStore(str(tmp_path), read=False).get("k1") is None  # --fresh


@pytest.mark.anyio
async def test_a_failed_cache_write_keeps_the_generation(tmp_path, caplog):
    """Issue 13.7: the generation is paid for; a read-only cache must not lose it."""
    blocker = tmp_path / "cache"
    blocker.write_text("a file where the cache folder should be")
    store = GenerationStore(str(blocker))
    out = await generate_cells(resolve("mock:x"), TASKS, 1, GenerationOptions(), store=store)
    assert all(o.ok and o.generation.text for o in out)
    assert (
        store.write_failed and sum("cannot write to the cache" in m for m in caplog.messages) == 1
    )
    assert not list(tmp_path.rglob("*.tmp"))


def test_a_torn_write_leaves_no_temporary_file(tmp_path, monkeypatch):
    store = GenerationStore(str(tmp_path))

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(store.fs, "mv", full_disk)
    assert store.put_generation("ab" * 32, Generation(text="x", model="m")) is False
    assert not list(tmp_path.rglob("*.tmp")) and not list(tmp_path.rglob("*.json"))
