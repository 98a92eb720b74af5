"""The winner rule, and every sentence that says what a comparison can and cannot tell.

The best model (highest primary metric) is named the winner only when it beats every
other model significantly (exact sign-flip test over shared tasks, Holm-corrected over
all pairs, alpha = 0.05). Otherwise the result is a tie group: the best model and every
model not significantly worse than it. A single evaluated model is "evaluated (nothing
to compare)", never a winner.

The intervals quoted beside the decision (``ci_low_adj``/``ci_high_adj``) are adjusted
the way the decision is: simultaneous over the pairs (Bonferroni), and reaching 0
whenever the exact test finds no significant difference, so an interval never excludes 0
beside a tie. (Holm's step-down is a little more powerful than Bonferroni, so a
significant verdict can come with an interval that touches 0.) A non-significant
comparison says over how many tasks it was made and the smallest difference that many
could show.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from tasks.metrics import Metric
from tasks.stats.paired import ALPHA


@dataclass(frozen=True)
class Decision:
    """Outcome of the winner rule. ``winner`` is None unless one model beat every other.

    ``kind`` is ``winner``, ``tie``, ``single`` (one model evaluated: nothing to compare)
    or ``no_decision`` (for exit codes and badges).
    """

    winner: str | None
    tie_group: tuple[str, ...]
    text: str
    kind: str = "tie"


def fmt(x: float | None, signed: bool = False) -> str:
    if x is None:
        return "n/a"
    return f"{x:+.3f}" if signed else f"{x:.3f}"


def fmt_p(p: float | None) -> str:
    """A p-value as text: 3 decimals, or '<0.001'."""
    if p is None:
        return "n/a"
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def holm_p(p: float | None) -> str:
    """'Holm p=0.043', 'Holm p<0.001' or 'Holm p=n/a'."""
    text = fmt_p(p)
    return f"Holm p{text}" if text.startswith("<") else f"Holm p={text}"


def detectable(row: Mapping[str, Any], what: str = "difference", tasks: str = "tasks") -> str:
    """'40 tasks: only a difference of 0.250 or more could be detected' (or: too few tasks).

    ``row`` has ``n_tasks``, ``mdd`` and ``min_tasks_for_significance`` (a comparison or
    history row). ``what`` names the quantity (difference, change), ``tasks`` the unit.
    """
    n = row["n_tasks"]
    if row.get("mdd") is None:
        return (
            f"{n} {tasks}: too few for any {what} to be detected; at least "
            f"{row['min_tasks_for_significance']} are needed"
        )
    return f"{n} {tasks}: only a {what} of {fmt(row['mdd'])} or more could be detected"


def shown_interval(row: Mapping[str, Any]) -> tuple[str, str]:
    """(label, '[low, high]') of the interval quoted beside a decision.

    ``ci_low_adj``/``ci_high_adj``: adjusted for the family when it has several
    comparisons, and reaching 0 whenever the verdict is not significant, so the interval
    never contradicts the decision next to it.
    """
    m = row.get("n_comparisons") or 1
    label = f"95% CI adjusted for {m} comparisons" if m > 1 else "95% CI"
    return label, f"[{fmt(row['ci_low_adj'], True)}, {fmt(row['ci_high_adj'], True)}]"


def _evidence(other: str, row: Mapping[str, Any]) -> str:
    text = (
        f"vs {other}: {fmt(row['diff'], True)} {shown_interval(row)[1]}, "
        f"{holm_p(row['p_holm'])} "
        f"over {row['n_tasks']} shared tasks"
    )
    if row["verdict"] != "a_better":
        text += f" (not significant; {detectable(row, tasks='shared tasks')})"
    return text


def _not_evaluated_text(not_evaluated: Mapping[str, str] | None) -> str:
    if not not_evaluated:
        return ""
    listed = "; ".join(f"{m} ({why})" for m, why in sorted(not_evaluated.items()))
    return f" Not evaluated: {listed}."


def _how(n_pairs: int, alpha: float) -> str:
    if n_pairs <= 1:
        return f"exact paired sign-flip test over shared tasks, alpha={alpha:g}; 95% intervals"
    return (
        f"exact paired sign-flip test over shared tasks, Holm-corrected over {n_pairs} "
        f"comparisons, alpha={alpha:g}; intervals adjusted for {n_pairs} comparisons"
    )


def decide(
    ranked: list[str],
    comparisons: pa.Table,
    primary: Metric,
    values: Mapping[str, tuple[float | None, float | None, float | None]],
    alpha: float = ALPHA,
    not_evaluated: Mapping[str, str] | None = None,
) -> Decision:
    """Apply the winner rule.

    Args:
        ranked: evaluated models, best first.
        comparisons: the table from ``tasks.stats.compare.compare_models``.
        primary: the decision metric.
        values: model -> (value, ci_low, ci_high) of the primary metric.
        alpha: family-wise error rate (Holm).
        not_evaluated: model -> reason, for models with no checked sample.
    """
    skipped = _not_evaluated_text(not_evaluated)
    if not ranked:
        text = "No decision: no model has a checked sample." + skipped
        return Decision(None, (), text, "no_decision")
    best = ranked[0]
    v, lo, hi = values[best]
    if v is None:  # pass@1+ on a run whose tasks have no extra tests
        text = (
            f"No decision: no model has a value of {primary}: no task has extra tests "
            "(they need a reference solution); choose another primary metric."
        )
        return Decision(None, (), text + skipped, "no_decision")
    head = f"{best}: {primary} {fmt(v)} [95% CI {fmt(lo)}, {fmt(hi)}]"
    if len(ranked) == 1:
        text = (
            f"Evaluated (nothing to compare): {head}. Only one model was evaluated, so no "
            "comparison was made." + skipped
        )
        return Decision(None, (best,), text, "single")
    table = comparisons.filter(pc.equal(comparisons["metric"], primary))
    by_other = {r["model_b"]: r for r in table.to_pylist() if r["model_a"] == best}
    evidence = [_evidence(other, by_other[other]) for other in ranked[1:]]
    tied = [best] + [m for m in ranked[1:] if by_other[m]["verdict"] != "a_better"]
    how = _how(table.num_rows, alpha)
    if len(tied) == 1:
        text = f"Winner: {head}; it beats every other model significantly ({how}). "
        return Decision(best, (best,), text + "; ".join(evidence) + "." + skipped, "winner")
    behind = [m for m in ranked if m not in tied]
    text = (
        f"Tie: {', '.join(tied)}. No model beats all others significantly on {primary} ({how}); "
        f"these are not significantly worse than the best, {head}; " + "; ".join(evidence) + "."
    )
    if behind:
        text += f" Significantly behind: {', '.join(behind)}."
    return Decision(None, tuple(tied), text + skipped, "tie")
