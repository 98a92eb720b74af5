"""Honest statistics over the results table: pass@k and pass@k+, task bootstrap, the exact
paired test, what a comparison can detect, the winner rule, run-to-run changes.

Public API: :func:`pass_at_k`, :func:`compare_runs`, :func:`change_sentence`, the
schemas, and (in ``tasks.stats.summary``) :func:`summarize`.
"""

from tasks.metrics import METRICS, Metric
from tasks.stats.bootstrap import bootstrap_means, holm, paired_test
from tasks.stats.counts import TaskMatrix, task_matrix
from tasks.stats.decision import Decision
from tasks.stats.history import change_sentence, compare_runs
from tasks.stats.paired import ALPHA, mdd, sign_flip_p
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
    "Metric",
    "TaskMatrix",
    "bootstrap_means",
    "change_sentence",
    "compare_runs",
    "holm",
    "mdd",
    "paired_test",
    "pareto_front",
    "pass_at_k",
    "pass_at_k_array",
    "sign_flip_p",
    "task_matrix",
]
