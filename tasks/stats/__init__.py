"""Honest statistics over the results table: pass@k, task bootstrap, winner rule.

Public API: :func:`pass_at_k`, :func:`compare_runs`, the schemas, and (in
``tasks.stats.summary``) :func:`summarize`.
"""

from tasks.stats.bootstrap import bootstrap_means, holm, paired_test
from tasks.stats.compare import ALPHA, Decision, compare_runs
from tasks.stats.counts import METRICS, TaskMatrix, task_matrix
from tasks.stats.pareto import pareto_front
from tasks.stats.passk import pass_at_k, pass_at_k_array
from tasks.stats.schema import COMPARISON_SCHEMA, HISTORY_SCHEMA, SUMMARY_SCHEMA

__all__ = [
    "ALPHA",
    "COMPARISON_SCHEMA",
    "HISTORY_SCHEMA",
    "METRICS",
    "SUMMARY_SCHEMA",
    "Decision",
    "TaskMatrix",
    "bootstrap_means",
    "compare_runs",
    "holm",
    "paired_test",
    "pareto_front",
    "pass_at_k",
    "pass_at_k_array",
    "task_matrix",
]
