"""The run configuration: a TOML or YAML file, overridden by CLI flags.

Validation is strict: an unknown key or a bad type is a UsageError naming the key.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from tasks.errors import UsageError


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ProviderSettings(_Strict):
    """Limits and endpoint for one provider name (``openai``, ``ollama``...)."""

    base_url: str | None = None
    timeout_s: float = Field(120.0, gt=0)
    max_concurrency: int = Field(4, ge=1)
    requests_per_minute: float | None = Field(None, gt=0)


class ModelSettings(_Strict):
    """Per-model overrides: ``price`` is USD per 1M (input, output) tokens."""

    price: tuple[float, float] | None = None
    base_url: str | None = None


class SandboxSettings(_Strict):
    isolation: Literal["auto", "require", "none"] = "auto"
    workers: int | None = Field(None, ge=1)
    cpu_s: float = Field(10.0, gt=0)
    wall_s: float = Field(30.0, gt=0)
    memory_mb: int = Field(1024, ge=64)


class RetrySettings(_Strict):
    max_attempts: int = Field(5, ge=1)
    max_total_s: float = Field(300.0, gt=0)
    base_delay_s: float = Field(1.0, ge=0)


class RunConfig(_Strict):
    """Everything a run needs. Field docs double as the config file reference."""

    models: list[str] = Field(default_factory=lambda: ["llamacpp:smollm2"])
    suite: str = "basic"
    samples: int = Field(1, ge=1, le=1000)
    task_limit: int | None = Field(None, ge=1)
    out: str = "data/results"
    temperature: float = Field(0.2, ge=0, le=2)
    max_tokens: int = Field(512, ge=1)
    seed: int | None = None
    system_prompt: str | None = None
    base_url: str | None = None
    fresh: bool = False
    primary_metric: Literal["pass@1", "overall_score"] = "pass@1"
    task_runner: Literal["thread", "dask"] = "thread"
    dask_address: str | None = None
    chunk_size: int = Field(100, ge=1)  # cells per Prefect task: fewer, larger tasks
    providers: dict[str, ProviderSettings] = Field(default_factory=dict)
    model_settings: dict[str, ModelSettings] = Field(default_factory=dict, alias="model")
    sandbox: SandboxSettings = Field(default_factory=SandboxSettings)
    retry: RetrySettings = Field(default_factory=RetrySettings)
    score_weights: dict[str, float] = Field(default_factory=dict)

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @property
    def tasks_per_chunk(self) -> int:
        """Tasks per generate/check chunk: ``chunk_size`` cells, at least one task."""
        return max(1, self.chunk_size // self.samples)

    @field_validator("models")
    @classmethod
    def _non_empty(cls, v: list[str]) -> list[str]:
        if not v:
            raise ValueError("at least one model is required")
        return v


def load_config(path: str | Path | None, overrides: dict[str, Any] | None = None) -> RunConfig:
    """Read ``path`` (TOML or YAML) if given, apply non-None ``overrides``, validate."""
    data: dict[str, Any] = {}
    where = "the command line"
    if path is not None:
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
    for key, value in (overrides or {}).items():
        if value is not None:
            data[key] = value
    try:
        return RunConfig.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        key = ".".join(str(p) for p in err["loc"]) or "(top level)"
        if err["type"] == "extra_forbidden":
            raise UsageError(f"{where}: unknown config key {key!r}.") from None
        raise UsageError(f"{where}: config key {key!r} is invalid: {err['msg']}.") from None
