"""``mock:NAME``: a real registered provider fed canned outputs, for tests and demos.

``mock:echo`` returns the prompt, ``mock:empty`` returns "" (checked as no_code),
``mock:fail`` raises a transient error and ``mock:permanent`` a permanent one. Any other name cycles
through ``config.options["outputs"]`` (or returns a fixed tiny module).
"""

from __future__ import annotations

from typing import ClassVar

from tasks.errors import ProviderError
from tasks.providers.base import Provider, ProviderConfig, now_iso
from tasks.record.types import Generation, GenerationRequest


class MockProvider(Provider):
    name: ClassVar[str] = "mock"
    shared_limits = False  # answers in-process: nothing to share
    local: ClassVar[bool] = True

    def __init__(self, model: str, config: ProviderConfig | None = None) -> None:
        super().__init__(model, config)
        self.history: list[GenerationRequest] = []
        self.outputs: list[str] = list(self.config.options.get("outputs", []))

    async def generate(self, request: GenerationRequest) -> Generation:
        self.history.append(request)
        if self.model == "fail":
            raise ProviderError("mock transient failure", kind="transient", status_code=503)
        if self.model == "permanent":
            raise ProviderError("mock permanent failure", kind="permanent", status_code=400)
        if self.model == "echo":
            text = request.prompt
        elif self.model == "empty":
            text = ""
        elif self.outputs:
            text = self.outputs[(len(self.history) - 1) % len(self.outputs)]
        else:
            text = "```python\ndef answer() -> int:\n    return 42\n```"
        return Generation(
            text=text,
            model=self.label,
            prompt_tokens=len(request.prompt.split()),
            completion_tokens=len(text.split()),
            latency_s=0.0,
            cost_usd=0.0,
            timestamp=now_iso(),
            temperature=request.options.temperature,
            temperature_sent=request.options.temperature,
            finish_reason="stop",
        )
