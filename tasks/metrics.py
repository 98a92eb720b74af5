"""The metrics a run can rank models by and decide on: one type for config, statistics and CLI."""

from __future__ import annotations

from typing import Literal, get_args

from tasks.errors import UsageError

Metric = Literal["pass@1", "pass@1+", "overall_score"]
METRICS: tuple[Metric, ...] = get_args(Metric)
# What each one is, in the words the help, the README and the reports use.
METRIC_MEANINGS: dict[Metric, str] = {
    "pass@1": "share of samples that pass the task's visible tests (unbiased, per task)",
    "pass@1+": (
        "EvalPlus's pass@1+: share of samples that pass the visible tests and every extra "
        "(differential) test, over the tasks that have extra tests"
    ),
    "overall_score": "mean quality score in [0, 1] (tasks/quality/score.py)",
}


def check_metric(metric: str) -> Metric:
    """``metric`` as a :data:`Metric`, or a UsageError naming the choices."""
    for known in METRICS:
        if metric == known:
            return known
    raise UsageError(f"unknown metric {metric!r}; choose one of {', '.join(METRICS)}")
