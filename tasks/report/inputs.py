"""What both report renderers read, as one typed record."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pyarrow as pa


@dataclass(frozen=True)
class ReportInputs:
    """One run's tables and facts, as the Markdown and HTML reports read them.

    Attributes:
        summary: the table from ``tasks.stats.summary.summarize`` (``SUMMARY_SCHEMA``).
        comparisons: the pairwise table (``COMPARISON_SCHEMA``).
        meta: run facts shown at the end (run_id, suite, models, created, sandbox, ...).
        history: ``compare_runs`` output, or None when there is no previous run.
    """

    summary: pa.Table
    comparisons: pa.Table
    meta: Mapping[str, Any]
    history: pa.Table | None = None
