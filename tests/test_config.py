import pytest

from tasks.config import load_config
from tasks.errors import UsageError


def test_defaults_and_overrides():
    cfg = load_config(None, {"samples": 3, "suite": None})
    assert cfg.samples == 3 and cfg.suite == "basic" and cfg.models == ["llamacpp:smollm2"]


def test_toml_file_with_nested_tables(tmp_path):
    path = tmp_path / "vivek.toml"
    path.write_text(
        'models = ["openai:gpt-4o", "ollama:qwen2.5-coder:7b"]\nsamples = 2\n'
        "[providers.openai]\nmax_concurrency = 8\nrequests_per_minute = 60\n"
        '[model."openai:gpt-4o"]\nprice = [2.5, 10.0]\n'
        "[sandbox]\ncpu_s = 5\n"
    )
    cfg = load_config(path, {"samples": 5})
    assert cfg.samples == 5  # flags override the file
    assert cfg.providers["openai"].max_concurrency == 8
    assert cfg.model_settings["openai:gpt-4o"].price == (2.5, 10.0)
    assert cfg.sandbox.cpu_s == 5


def test_yaml_file(tmp_path):
    path = tmp_path / "vivek.yaml"
    path.write_text("models: [replay:x.jsonl]\nsuite: humaneval\n")
    assert load_config(path).suite == "humaneval"


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("sampels = 2\n", "unknown config key 'sampels'"),
        ("samples = 'many'\n", "config key 'samples' is invalid"),
        ("[providers.openai]\nmax_concurency = 2\n", "'providers.openai.max_concurency'"),
        ("[sandbox]\nisolation = 'maybe'\n", "'sandbox.isolation'"),
        ("models = []\n", "'models'"),
        ("samples = [\n", "is not valid"),
    ],
)
def test_bad_config_names_the_key(tmp_path, text, fragment):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(UsageError) as info:
        load_config(path)
    assert fragment in str(info.value) and str(path) in str(info.value)


def test_missing_config_file(tmp_path):
    with pytest.raises(UsageError, match="cannot be read"):
        load_config(tmp_path / "nope.toml")


def test_dask_address_implies_the_dask_runner():
    assert load_config(None, {"dask_address": "tcp://h:8786"}).task_runner == "dask"
    with pytest.raises(UsageError, match="dask_address needs task_runner 'dask'"):
        load_config(None, {"dask_address": "tcp://h:8786", "task_runner": "thread"})


@pytest.mark.parametrize(
    ("weights", "fragment"),
    [({"stlye": 1}, "Unknown score weight 'stlye'"), ({"style": -1}, "non-negative")],
)
def test_bad_score_weights_fail_at_load(tmp_path, weights, fragment):
    """Issue 14: a typo in [score_weights] is caught with the config, not in a check task."""
    with pytest.raises(UsageError) as info:
        load_config(None, {"score_weights": weights})
    assert "'score_weights'" in str(info.value) and fragment in str(info.value)


def test_empty_model_list_is_refused():
    with pytest.raises(UsageError, match="at least one model"):
        load_config(None, {"models": [""]})


def test_merge_applies_only_the_fields_set(tmp_path):
    from tasks.config import RunConfig, merge

    path = tmp_path / "c.toml"
    path.write_text('samples = 3\nsuite = "humaneval"\n[sandbox]\ncpu_s = 5\nwall_s = 9\n')
    cfg = merge(path, RunConfig.model_validate({"suite": "basic", "sandbox": {"cpu_s": 2}}))
    assert (cfg.samples, cfg.suite, cfg.sandbox.cpu_s, cfg.sandbox.wall_s) == (3, "basic", 2, 9)
    assert merge(None, None) == RunConfig()


def test_the_primary_metric_is_one_of_the_metrics_including_pass_at_1_plus(tmp_path):
    from tasks.metrics import METRICS

    assert METRICS == ("pass@1", "pass@1+", "overall_score")
    for metric in METRICS:
        assert load_config(None, {"primary_metric": metric}).primary_metric == metric
    path = tmp_path / "vivek.toml"
    path.write_text('primary_metric = "pass@2"\n')
    with pytest.raises(UsageError, match=r"'primary_metric' is invalid.*pass@1\+"):
        load_config(path)


def test_the_cli_offers_every_metric():
    from flows.cli import _parser

    parser, _ = _parser()
    args = parser.parse_args(["eval", "--primary-metric", "pass@1+"])
    assert args.primary_metric == "pass@1+"
    report = parser.parse_args(["report", "run", "--primary-metric", "pass@1+"])
    assert report.primary_metric == "pass@1+"
    assert parser.parse_args(["report", "run"]).primary_metric is None  # meta.json decides


FILE = """temperature = 0.8
max_tokens = 1024
out = "runs/nightly"
samples = 2
models = ["mock:a"]
[sandbox]
cpu_s = 5
"""


def test_a_partial_run_is_merged_over_the_deployment_then_the_file_then_the_defaults(tmp_path):
    from tasks.config import merge

    path = tmp_path / "nightly.toml"
    path.write_text(FILE)
    deployment = {"task_limit": 3, "samples": 1}
    run = {"models": ["mock:b"], "suite": "basic", "task_limit": 5}  # the README's example
    cfg = merge(path, run, defaults=deployment)
    assert cfg.models == ["mock:b"] and cfg.task_limit == 5  # the run
    assert cfg.samples == 1  # the deployment's default, not the file's 2
    assert (cfg.temperature, cfg.max_tokens, cfg.out) == (0.8, 1024, "runs/nightly")  # the file
    assert (cfg.sandbox.cpu_s, cfg.sandbox.wall_s) == (5, 30.0)  # the file, then the default


def test_a_form_shaped_run_with_every_field_empty_changes_nothing(tmp_path):
    from tasks.config import RunConfig, RunOverrides, SandboxSettings, merge

    path = tmp_path / "nightly.toml"
    path.write_text(FILE)
    deployment = {"task_limit": 3, "samples": 1}
    # What the UI's form sends when nothing is filled in: every key, null (lists empty).
    form = dict.fromkeys(f.alias or n for n, f in RunOverrides.model_fields.items())
    form |= {"models": [], "sandbox": dict.fromkeys(SandboxSettings.model_fields)}
    assert merge(path, form, defaults=deployment) == merge(path, None, defaults=deployment)
    cfg = merge(path, form, defaults=deployment)
    assert (cfg.samples, cfg.task_limit, cfg.temperature, cfg.sandbox.cpu_s) == (1, 3, 0.8, 5)
    assert merge(None, form) == RunConfig()


def test_the_run_parameter_offers_every_field_empty_by_default():
    from prefect.utilities.callables import parameter_schema

    from flows.evaluate import evaluate
    from tasks.config import RunConfig

    schema = parameter_schema(evaluate.fn).model_dump_for_openapi()
    run_ref = schema["properties"]["run"]
    name = run_ref["anyOf"][0]["$ref"].rsplit("/", 1)[-1] if "anyOf" in run_ref else None
    fields = schema["definitions"][name]["properties"]
    assert set(fields) == {f.alias or n for n, f in RunConfig.model_fields.items()}
    assert all(field.get("default", "missing") is None for field in fields.values()), fields


def test_an_unknown_key_in_the_run_parameter_is_named(tmp_path):
    from tasks.config import merge

    with pytest.raises(UsageError, match="'modles'"):
        merge(None, {"modles": ["mock:a"]})
