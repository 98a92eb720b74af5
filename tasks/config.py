"""The run configuration, the single source of every option: a TOML or YAML file,
overridden by CLI flags (generated from :class:`RunConfig`'s fields by ``flows.cli``)
or by the ``run`` parameter of the ``vivek-evaluate`` flow (:data:`RunOverrides`: the same
fields, each empty by default, so a deployment's form sends only what a person fills in).

Validation is strict and complete before anything runs: an unknown key, a bad type or
a bad score weight is a UsageError naming the key.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    create_model,
    field_validator,
    model_validator,
)

from tasks.errors import UsageError
from tasks.metrics import Metric
from tasks.providers.base import ProviderConfig
from tasks.providers.retry import RetryPolicy
from tasks.record.types import GenerationOptions
from tasks.sandbox.types import Limits


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# Defaults are written once, in the runtime records these settings build (ProviderConfig,
# Limits, RetryPolicy, GenerationOptions); the settings take them from there.
_PROVIDER = ProviderConfig()
_LIMITS = Limits()
_RETRY = RetryPolicy()
_OPTIONS = GenerationOptions()


class ProviderSettings(_Strict):
    """Limits and endpoint for one provider name (``openai``, ``ollama``...)."""

    base_url: str | None = None
    timeout_s: float = Field(_PROVIDER.timeout_s, gt=0)
    # None: the provider's own (``Provider.default_concurrency``; 1 for llamacpp).
    max_concurrency: int | None = Field(None, ge=1)
    requests_per_minute: float | None = Field(None, gt=0)


class ModelSettings(_Strict):
    """Per-model overrides: ``price`` is USD per 1M (input, output) tokens."""

    price: tuple[float, float] | None = None
    base_url: str | None = None


class SandboxSettings(_Strict):
    isolation: Literal["auto", "require", "none"] = "auto"
    workers: int | None = Field(None, ge=1)
    cpu_s: float = Field(_LIMITS.cpu_s, gt=0)
    wall_s: float = Field(_LIMITS.wall_s, gt=0)
    memory_mb: int = Field(_LIMITS.memory_mb, ge=64)

    def limits(self) -> Limits:
        """The sandbox's limits: these settings over ``Limits``' defaults."""
        return Limits(cpu_s=self.cpu_s, wall_s=self.wall_s, memory_mb=self.memory_mb)


class RetrySettings(_Strict):
    max_attempts: int = Field(_RETRY.max_attempts, ge=1)
    max_total_s: float = Field(_RETRY.max_total_s, gt=0)
    base_delay_s: float = Field(_RETRY.base_delay_s, ge=0)

    def policy(self) -> RetryPolicy:
        """The retry layer's policy: these settings over ``RetryPolicy``'s defaults."""
        return RetryPolicy(**self.model_dump())


class RunConfig(_Strict):
    """Everything a run needs. Field descriptions are the CLI's help and the config reference."""

    models: list[str] = Field(
        default_factory=lambda: ["llamacpp:smollm2"],
        description="PROVIDER:MODEL strings (on the command line: comma-separated)",
    )
    suite: str = Field(
        "basic", description="built-in suite (basic, humaneval) or a .yaml/.jsonl path"
    )
    samples: int = Field(1, ge=1, le=1000, description="samples per task")
    task_limit: int | None = Field(None, ge=1, description="only the first N tasks of the suite")
    out: str = Field("data/results", description="output folder or fsspec URL")
    temperature: float = Field(_OPTIONS.temperature, ge=0, le=2, description="sampling temperature")
    max_tokens: int = Field(_OPTIONS.max_tokens, ge=1, description="completion token limit")
    seed: int | None = Field(None, description="seed sent to providers that take one")
    system_prompt: str | None = Field(None, description="system prompt (default: Vivek's own)")
    base_url: str | None = Field(None, description="base URL for openai-compatible models")
    fresh: bool = Field(False, description="ignore both caches (generations and checks)")
    primary_metric: Metric = Field(
        "pass@1",
        description="metric that ranks models and decides the winner "
        "(pass@1+ is EvalPlus's: visible and every extra test)",
    )
    task_runner: Literal["thread", "dask"] = Field(
        "thread", description="where checks run (dask is implied by --dask-address)"
    )
    dask_address: str | None = Field(None, description="scheduler address of a Dask cluster")
    chunk_size: int = Field(100, ge=1, description="cells per Prefect task")
    shared_limits: bool | None = Field(
        None,
        description="share provider limits across runs through the Prefect server "
        "(default: when PREFECT_API_URL is set)",
    )
    providers: dict[str, ProviderSettings] = Field(default_factory=dict)
    model_settings: dict[str, ModelSettings] = Field(default_factory=dict, alias="model")
    sandbox: SandboxSettings = SandboxSettings()
    retry: RetrySettings = RetrySettings()
    score_weights: dict[str, float] = Field(default_factory=dict)

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    def generation_options(self) -> GenerationOptions:
        """What every call is sent; an unset system prompt is Vivek's own."""
        prompt = _OPTIONS.system_prompt if self.system_prompt is None else self.system_prompt
        return GenerationOptions(
            temperature=self.temperature,
            max_tokens=self.max_tokens,
            seed=self.seed,
            system_prompt=prompt,
        )

    @property
    def tasks_per_chunk(self) -> int:
        """Tasks per generate/check chunk: ``chunk_size`` cells, at least one task."""
        return max(1, self.chunk_size // self.samples)

    @model_validator(mode="before")
    @classmethod
    def _dask_address_implies_dask(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("dask_address"):
            if data.get("task_runner", "dask") != "dask":
                raise ValueError("dask_address needs task_runner 'dask' (or leave it unset)")
            data = {**data, "task_runner": "dask"}
        return data

    @field_validator("models")
    @classmethod
    def _non_empty(cls, v: list[str]) -> list[str]:
        if not [m for m in v if m.strip()]:
            raise ValueError("at least one model is required")
        return v

    @field_validator("score_weights", mode="before")
    @classmethod
    def _known_weights(cls, v: Any) -> Any:
        from tasks.quality.score import Weights

        if isinstance(v, dict):
            try:
                Weights.from_mapping(v)
            except UsageError as exc:
                raise ValueError(str(exc).rstrip(".")) from None
        return v


_FROM_BELOW = "None: from the deployment's defaults, then the config file, then Vivek's."


def _optional(model: type[BaseModel], name: str) -> type[BaseModel]:
    """``model``'s fields, each optional and empty (None) by default, tables too."""
    fields: dict[str, Any] = {}
    for field_name, info in model.model_fields.items():
        annotation: Any = info.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            annotation = _optional(annotation, f"{annotation.__name__}Overrides")
        about = info.description or field_name.replace("_", " ")
        fields[field_name] = (
            annotation | None,
            Field(None, alias=info.alias, description=f"{about}. {_FROM_BELOW}"),
        )
    config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    return create_model(
        name,
        __config__=config,
        __validators__={"_from_model": _settings_given},  # type: ignore[dict-item]
        **fields,
    )


# A validator for models made by create_model, hence outside a class.
@model_validator(mode="before")  # type: ignore[misc]
@classmethod
def _settings_given(cls: type, data: Any) -> Any:
    """A full settings object (a RunConfig, say) gives the fields it sets explicitly."""
    if isinstance(data, BaseModel):
        return data.model_dump(exclude_unset=True, by_alias=True)
    return data


# The flow's ``run`` parameter: RunConfig's fields, each empty unless given. Empty (null, or
# an empty list) means "from below": the deployment's default run, then the config file,
# then RunConfig's defaults (see :func:`merge`).
RunOverrides = _optional(RunConfig, "RunOverrides")


def _read(path: str | Path) -> dict[str, Any]:
    """The settings in a TOML or YAML file, unvalidated."""
    p = Path(path)
    where = str(p)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"Config file {where!r} cannot be read ({exc.strerror}).") from exc
    try:
        data = tomllib.loads(text) if p.suffix == ".toml" else yaml.safe_load(text) or {}
    except (tomllib.TOMLDecodeError, yaml.YAMLError) as exc:
        raise UsageError(
            f"Config file {where!r} is not valid: {' '.join(str(exc).split())}."
        ) from exc
    if not isinstance(data, dict):
        raise UsageError(f"Config file {where!r} must hold a table of settings.")
    return data


def load_config(path: str | Path | None, overrides: dict[str, Any] | None = None) -> RunConfig:
    """Read ``path`` (TOML or YAML) if given, apply non-None ``overrides``, validate."""
    data = _read(path) if path is not None else {}
    where = str(path) if path is not None else "the command line"
    return validate(
        _deep_merge(data, {k: v for k, v in (overrides or {}).items() if v is not None}), where
    )


def _deep_merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in top.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            value = _deep_merge(merged[key], value)
        merged[key] = value
    return merged


def _given(layer: Any, where: str) -> dict[str, Any]:
    """The settings a layer gives: a RunConfig's explicitly set fields, or the non-empty
    fields of a run parameter (a RunOverrides or its plain-data form), at every depth."""
    if layer is None:
        return {}
    if isinstance(layer, RunConfig):
        return layer.model_dump(exclude_unset=True, by_alias=True)
    if not isinstance(layer, RunOverrides):
        try:
            layer = RunOverrides.model_validate(layer)
        except ValidationError as exc:
            raise _usage_error(exc, where) from None
    return _non_empty(layer.model_dump(by_alias=True))


def _non_empty(data: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for key, value in data.items():
        if isinstance(value, dict):
            value = _non_empty(value)
        if value is not None and value != []:
            out[key] = value
    return out


def merge(path: str | Path | None, run: Any = None, defaults: Any = None) -> RunConfig:
    """The run's settings, field by field: ``run`` (the flow's run parameter, partial or
    form-shaped), over ``defaults`` (a deployment's default run), over the file at ``path``,
    over RunConfig's defaults. Empty fields (null, or an empty list) are not given."""
    data = _read(path) if path is not None else {}
    data = _deep_merge(data, _given(defaults, "the deployment's default 'run'"))
    data = _deep_merge(data, _given(run, "the 'run' parameter"))
    return validate(data, str(path) if path is not None else "the 'run' parameter")


def validate(data: dict[str, Any], where: str = "the command line") -> RunConfig:
    """A RunConfig from plain data, or a UsageError naming the key and the source."""
    try:
        return RunConfig.model_validate(data)
    except ValidationError as exc:
        raise _usage_error(exc, where) from None


def _usage_error(exc: ValidationError, where: str) -> UsageError:
    err = exc.errors()[0]
    key = ".".join(str(p) for p in err["loc"]) or "(top level)"
    if err["type"] == "extra_forbidden":
        return UsageError(f"{where}: unknown config key {key!r}.")
    msg = err["msg"].removeprefix("Value error, ")
    return UsageError(f"{where}: config key {key!r} is invalid: {msg}.")
