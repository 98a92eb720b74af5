"""``reference:SUITE``: the suite's own reference solutions, answered as a model would.

A baseline, not a model. Evaluated beside real models it gives the first report a
comparison to make, and it is the sanity check EvalPlus runs on its ground truth: the
references of a sound suite pass every task, so anything less points at the suite (or
the sandbox), not at the models. ``SUITE`` is what ``--suite`` takes (``basic``,
``humaneval``, a path); its label is ``reference:<suite name> (baseline)`` in every output.

For a prompt that is code to continue (HumanEval) the answer is the rest of the reference,
so that prompt + answer is the reference itself; otherwise the answer is the reference in
a ``python`` fence. A task without a reference (or not in the suite) fails as data: a
``generation_error`` row that says why.
"""

from __future__ import annotations

from typing import ClassVar

from tasks.errors import ProviderError
from tasks.providers.base import Provider, ProviderConfig, now_iso
from tasks.record.types import Generation, GenerationRequest, Suite, Task
from tasks.suites.load import load_suite


class ReferenceProvider(Provider):
    name: ClassVar[str] = "reference"
    shared_limits = False  # answers in-process: nothing to share
    local: ClassVar[bool] = True

    def __init__(self, model: str, config: ProviderConfig | None = None) -> None:
        super().__init__(model, config)
        self._suite: Suite | None = None

    @property
    def suite(self) -> Suite:
        if self._suite is None:
            self._suite = load_suite(self.model)  # a bad name is a UsageError, before any run
        return self._suite

    @property
    def label(self) -> str:
        return f"reference:{self.suite.name} (baseline)"

    @property
    def cache_identity(self) -> str:
        return f"{self.label}@{self.suite.digest()}"

    def check_ready(self) -> None:
        _ = self.suite

    def answer(self, task: Task) -> str:
        """The reply that makes the checked program the task's reference solution."""
        reference = task.reference or ""
        if task.prompt_is_code and reference.startswith(task.prompt):
            return reference[len(task.prompt) :]
        return f"```python\n{reference.rstrip()}\n```\n"

    async def generate(self, request: GenerationRequest) -> Generation:
        task = next((t for t in self.suite.tasks if t.id == request.task_id), None)
        if task is None or not task.reference:
            where = "is not in" if task is None else "has no reference solution in"
            raise ProviderError(
                f"task {request.task_id!r} {where} suite {self.suite.name!r}", kind="permanent"
            )
        return Generation(
            text=self.answer(task),
            model=self.label,
            prompt_tokens=None,  # no model read or wrote anything
            completion_tokens=None,
            latency_s=0.0,
            cost_usd=0.0,
            timestamp=now_iso(),
            temperature=request.options.temperature,
            finish_reason="reference",
        )
