"""Per-(model, task) counts: the only thing the statistics need from the results table.

Built with pyarrow ``group_by`` and scattered into dense (models x tasks) numpy
arrays, so a million rows never become Python objects.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tasks.metrics import METRICS, Metric, check_metric
from tasks.record.types import UNSCORED_STATUSES

__all__ = ["METRICS", "TaskMatrix", "check_metric", "task_matrix"]


@dataclass(frozen=True)
class TaskMatrix:
    """Counts per model (rows) and task (columns), sorted by name.

    Unscored samples (``sandbox_error``, ``suite_error``) are not counted in ``n``,
    ``c`` or ``score``: the sandbox or the suite failing is never the model's fault.
    ``checked`` counts samples that got a reply and were checked (neither unscored
    nor ``generation_error``): a model with none was never evaluated.

    ``plus`` counts samples with ``plus_passed`` (visible and every extra test passed).
    ``has_extra`` marks the tasks that have extra tests: those where any row of any
    model has a ``plus_passed`` verdict. pass@1+ is over those tasks only; a sample
    there without a verdict (no code, say) counts as not passing, as it does for pass@1.
    """

    models: tuple[str, ...]
    tasks: tuple[str, ...]
    n: np.ndarray  # scored samples
    c: np.ndarray  # passing samples
    score: np.ndarray  # sum of overall_score over scored samples (a null score counts 0)
    attempted: np.ndarray  # the model has any row for the task, unscored ones included
    checked: np.ndarray  # samples with a reply that were checked
    plus: np.ndarray  # samples that passed the visible and every extra test
    has_extra: np.ndarray  # (tasks,): the task has extra tests

    @property
    def evaluated(self) -> np.ndarray:
        """Per model: at least one sample got a reply and was checked."""
        return self.checked.sum(axis=1) > 0

    @property
    def scored(self) -> np.ndarray:
        return self.n > 0

    def mask(self, metric: Metric) -> np.ndarray:
        """Where ``metric`` has a value: scored cells, and for pass@1+ tasks with extra tests."""
        check_metric(metric)
        return self.scored & self.has_extra[None, :] if metric == "pass@1+" else self.scored

    def passes(self, metric: Metric) -> np.ndarray:
        """Passing samples per cell for a pass metric (pass@1 or pass@1+)."""
        return self.plus if metric == "pass@1+" else self.c

    def values(self, metric: Metric) -> np.ndarray:
        """Per-task value of ``metric``; NaN where it has none (see :meth:`mask`)."""
        num = self.score if check_metric(metric) == "overall_score" else self.passes(metric)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(self.mask(metric), num / np.maximum(self.n, 1), np.nan)

    def model_index(self, model: str) -> int:
        return self.models.index(model)


def _index(values: pa.ChunkedArray, universe: list[str]) -> np.ndarray:
    idx = pc.index_in(values, value_set=pa.array(universe, pa.string()))
    return idx.to_numpy().astype(np.int64)


def task_matrix(results: pa.Table) -> TaskMatrix:
    """Count scored and passing samples and sum scores per (model, task)."""
    status = results["status"]
    unscored = pc.fill_null(pc.is_in(status, pa.array(sorted(UNSCORED_STATUSES))), False)
    scored = pc.invert(unscored)
    no_reply = pc.fill_null(pc.equal(status, "generation_error"), False)
    checked = pc.and_(scored, pc.invert(no_reply))
    passed = pc.and_(pc.fill_null(pc.equal(status, "pass"), False), scored)
    plus_column = results["plus_passed"] if "plus_passed" in results.column_names else None
    if plus_column is None:
        plus_column = pa.chunked_array([pa.nulls(results.num_rows, pa.bool_())])
    plus = pc.and_(pc.fill_null(plus_column, False), scored)
    score = pc.if_else(scored, pc.fill_null(results["overall_score"], 0.0), 0.0)
    models = sorted(pc.unique(results["model"]).to_pylist())
    tasks = sorted(pc.unique(results["task_id"]).to_pylist())
    # One integer key per (model, task) cell, then bincount: no Python loop, no hash table.
    key = _index(results["model"], models) * len(tasks) + _index(results["task_id"], tasks)
    size = len(models) * len(tasks)
    shape = (len(models), len(tasks))

    def total(weights: pa.ChunkedArray | None) -> np.ndarray:
        w = None if weights is None else pc.cast(weights, pa.float64()).to_numpy()
        return np.bincount(key, weights=w, minlength=size).reshape(shape)

    n = total(pc.cast(scored, pa.int64())).astype(np.int64)
    c = total(pc.cast(passed, pa.int64())).astype(np.int64)
    s = total(score)
    attempted = total(None) > 0
    k = total(pc.cast(checked, pa.int64())).astype(np.int64)
    p = total(pc.cast(plus, pa.int64())).astype(np.int64)
    judged = total(pc.cast(pc.is_valid(plus_column), pa.int64())) > 0
    has_extra = np.asarray(judged.any(axis=0)) if len(models) else np.zeros(len(tasks), dtype=bool)
    return TaskMatrix(tuple(models), tuple(tasks), n, c, s, attempted, k, p, has_extra)
