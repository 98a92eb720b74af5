"""The registry, and the providers that need no network: replay, mock, llamacpp's setup."""

import json

import pytest

from tasks.errors import ProviderError, UsageError
from tasks.providers import parse_model, resolve
from tasks.record.types import GenerationRequest


def test_parse_splits_on_first_colon_only():
    assert parse_model("ollama:qwen2.5-coder:7b") == ("ollama", "qwen2.5-coder:7b")
    assert parse_model(" llamacpp:/m/x.gguf ") == ("llamacpp", "/m/x.gguf")


@pytest.mark.parametrize("spec", ["gpt-4o", ":x", "openai:", ""])
def test_malformed_model_strings(spec):
    with pytest.raises(UsageError, match="PROVIDER:MODEL"):
        parse_model(spec)


def test_unknown_provider_lists_known_ones():
    with pytest.raises(UsageError, match=r"Unknown provider 'nope'.*llamacpp"):
        resolve("nope:x")


@pytest.fixture
def replay_file(tmp_path):
    path = tmp_path / "old_model.jsonl"
    lines = [
        {"task_id": "a", "completion": "first"},
        {"task_id": "b", "completion": "only b"},
        {"task_id": "a", "completion": "second"},
    ]
    path.write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    return path


@pytest.mark.anyio
async def test_replay_samples_in_file_order(replay_file):
    provider = resolve(f"replay:{replay_file}")
    provider.check_ready()
    assert provider.label == "replay:old_model"
    got = [
        (await provider.generate(GenerationRequest("p", task_id="a", sample=i))).text
        for i in (0, 1)
    ]
    assert got == ["first", "second"]
    gen = await provider.generate(GenerationRequest("p", task_id="b", sample=0))
    assert gen.model == "replay:old_model" and gen.cost_usd == 0.0


@pytest.mark.anyio
async def test_replay_missing_task_is_a_permanent_error(replay_file):
    provider = resolve(f"replay:{replay_file}")
    with pytest.raises(ProviderError) as info:
        await provider.generate(GenerationRequest("p", task_id="zzz", sample=0))
    assert info.value.kind == "permanent" and "zzz" in str(info.value)
    with pytest.raises(ProviderError, match="sample 1"):
        await provider.generate(GenerationRequest("p", task_id="b", sample=1))


def test_replay_cache_identity_changes_with_content(replay_file):
    before = resolve(f"replay:{replay_file}").cache_identity
    replay_file.write_text('{"task_id": "a", "completion": "changed"}\n')
    assert resolve(f"replay:{replay_file}").cache_identity != before


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("{bad\n", "line 1 is not valid JSON"),
        ('{"completion": "x"}\n', "'task_id'"),
        ("\x00\xff garbage\n", "no usable line"),
    ],
)
def test_replay_bad_file(tmp_path, content, fragment):
    path = tmp_path / "bad.jsonl"
    path.write_text(content)
    with pytest.raises(UsageError, match=fragment):
        resolve(f"replay:{path}").check_ready()


def test_replay_missing_file(tmp_path):
    with pytest.raises(UsageError, match="cannot be read"):
        resolve(f"replay:{tmp_path / 'nope.jsonl'}").check_ready()


@pytest.mark.anyio
async def test_mock_provider_modes():
    assert (await resolve("mock:echo").generate(GenerationRequest("hi"))).text == "hi"
    assert (await resolve("mock:empty").generate(GenerationRequest("hi"))).text == ""
    with pytest.raises(ProviderError) as info:
        await resolve("mock:fail").generate(GenerationRequest("hi"))
    assert info.value.kind == "transient"
    with pytest.raises(ProviderError) as info:
        await resolve("mock:permanent").generate(GenerationRequest("hi"))
    assert info.value.kind == "permanent"
    default = await resolve("mock:x").generate(GenerationRequest("hi"))
    assert "def answer" in default.text


def test_llamacpp_paths_and_readiness(tmp_path):
    default = resolve("llamacpp:smollm2")
    default.check_ready()
    assert default.path.name.endswith(".gguf") and default.path.is_file()
    with pytest.raises(UsageError, match="does not exist"):
        resolve(f"llamacpp:{tmp_path / 'missing.gguf'}").check_ready()
    assert default.concurrency_key.startswith("llamacpp:")


def test_loaded_models_are_closed_before_interpreter_shutdown(monkeypatch):
    import threading

    from tasks.providers import llamacpp

    class Model:
        closed = 0

        def close(self) -> None:
            self.closed += 1

    idle, busy = Model(), Model()
    held = threading.Lock()
    held.acquire()  # a model still generating
    models = {"idle": (idle, threading.Lock()), "busy": (busy, held)}
    monkeypatch.setattr(llamacpp, "_MODELS", models)
    monkeypatch.setattr(llamacpp, "CLOSE_WAIT_S", 0.01)
    llamacpp.close_models()
    assert idle.closed == 1 and busy.closed == 0 and models == {}
