"""Per-(model, task) counts: the only thing the statistics need from the results table.

Built with pyarrow ``group_by`` and scattered into dense (models x tasks) numpy
arrays, so a million rows never become Python objects.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tasks.errors import UsageError
from tasks.record.types import UNSCORED_STATUSES

METRICS = ("pass@1", "overall_score")


@dataclass(frozen=True)
class TaskMatrix:
    """Counts per model (rows) and task (columns), sorted by name.

    Unscored samples (``sandbox_error``, ``suite_error``) are not counted in ``n``,
    ``c`` or ``score``: the sandbox or the suite failing is never the model's fault.
    ``checked`` counts samples that got a reply and were checked (neither unscored
    nor ``generation_error``): a model with none was never evaluated.
    """

    models: tuple[str, ...]
    tasks: tuple[str, ...]
    n: np.ndarray  # scored samples
    c: np.ndarray  # passing samples
    score: np.ndarray  # sum of overall_score over scored samples (a null score counts 0)
    attempted: np.ndarray  # the model has any row for the task, unscored ones included
    checked: np.ndarray  # samples with a reply that were checked

    @property
    def evaluated(self) -> np.ndarray:
        """Per model: at least one sample got a reply and was checked."""
        return self.checked.sum(axis=1) > 0

    @property
    def scored(self) -> np.ndarray:
        return self.n > 0

    def values(self, metric: str) -> np.ndarray:
        """Per-task value of ``metric`` (pass@1 or overall_score); NaN where unscored."""
        check_metric(metric)
        num = self.c if metric == "pass@1" else self.score
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(self.scored, num / np.maximum(self.n, 1), np.nan)

    def model_index(self, model: str) -> int:
        return self.models.index(model)


def check_metric(metric: str) -> None:
    if metric not in METRICS:
        raise UsageError(f"unknown metric {metric!r}; choose one of {', '.join(METRICS)}")


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
    return TaskMatrix(tuple(models), tuple(tasks), n, c, s, attempted, k)
