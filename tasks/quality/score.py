"""One quality score in [0, 1] per sample, with the points each term cost.

Formula (``W`` is :class:`Weights`)::

    overall = 0                                  if status in GATED (nothing usable ran)
    overall = C * Q                              otherwise, where

    t = tests_passed / tests_total               (0 when there are no tests)
    d = extra_tests_passed / extra_tests_total   (1 when there were no extra checks)
    C = t * (1 - W.differential * (1 - d)) * (1 if status == "pass" and d == 1 else W.fail_factor)
    Q = max(0, 1 - sum of penalties)
        security   W.security  * min(1, n / 2)  n = ruff S* findings + eval/exec/os.system/
                                                     subprocess uses seen in the AST
        imports    W.imports   if any import does not resolve (hallucinated package)
        files      W.files     if the tests saw files written, or the code opens for writing
        output     W.output    if the code prints or the tests saw printed output
        swallowed  W.swallowed * min(1, swallowed exceptions)
        globals    W.globals   * min(1, global/nonlocal statements)
        style      W.style     * min(1, other ruff findings / W.style_saturation)
        typing     W.typing    * (1 - type_hint_ratio)
        docs       W.docs      * (1 - docstring_ratio)
        coverage   W.coverage  * (1 - coverage)  (skipped when coverage is unknown)

Why these weights (fixed from these principles before the calibration set was graded):

* Correctness multiplies everything: polish on wrong code is worth nothing to a reviewer.
* Hidden inputs are as much evidence as visible ones, so failing every differential
  check halves correctness (``differential = 0.5``); not to zero, because a correct
  but differently-defined edge case can also disagree with the reference.
* A sample whose run did not pass cannot be merged: its partial credit is capped at
  ``fail_factor = 0.7`` of its test share. Failing any extra test is a failed run too
  (the cap applies once): a solution that memorises the visible inputs passes every
  visible test, and before this cap failing 13 of 41 extra tests cost it only 16%, so it
  scored 0.84, above a correct solution that lost 0.17 to review terms (0.83).

Calibration (``tests/quality/test_calibration.py``, 61 graded solutions in
``data/calibration/``, the full pipeline, checker version 4): Spearman's rho between
``overall_score`` and the grades was 0.933 (Kendall's tau 0.837) before the extra-test
cap and is 0.946 (tau 0.858) with it, at the same weights. Re-tuning ``differential``
and ``fail_factor`` on these 61 entries reaches 0.951; the weights were left as they
were, so the set still checks the score rather than fits it.
* Penalties follow review severity: merge-blocking risks (code execution, shell,
  hallucinated dependency - a slopsquatting vector) cost 0.35; writing files as a side
  effect 0.25; swallowing exceptions 0.15 (hides bugs); readability terms (types,
  docs, style) and stray prints 0.10 each; globals and untested code 0.05.

The breakdown maps each term to the points it cost (``tests``, ``differential``,
``status``, then the penalty names); its values sum to ``1 - overall``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tasks.errors import UsageError
from tasks.quality.static import analyze

GATED = frozenset(
    {
        "syntax_error",
        "no_code",
        "generation_error",
        "import_error",
        "module_error",
        "timeout",
        "oom",
        "sandbox_error",
        "suite_error",
    }
)
_STATIC_KEYS = ("dangerous_calls", "swallowed_exceptions", "print_calls", "file_writes")
_OUTPUT_PREFIXES = ("stdout", "stderr", "print", "output")


@dataclass(frozen=True)
class Weights:
    """Score weights; see the module docstring for the formula and the reasons."""

    differential: float = 0.5
    fail_factor: float = 0.7
    security: float = 0.35
    imports: float = 0.35
    files: float = 0.25
    output: float = 0.10
    swallowed: float = 0.15
    globals: float = 0.05
    style: float = 0.10
    style_saturation: float = 5.0
    typing: float = 0.10
    docs: float = 0.10
    coverage: float = 0.05

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> Weights:
        """Defaults overridden by ``data`` (a config section).

        Raises:
            UsageError: an unknown key, or a value that is not a non-negative number.
        """
        known = [f.name for f in dataclasses.fields(cls)]
        values: dict[str, float] = {}
        for key, value in data.items():
            if key not in known:
                raise UsageError(
                    f"Unknown score weight {key!r}; known weights: {', '.join(known)}."
                )
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise UsageError(
                    f"Score weight {key!r} must be a non-negative number, not {value!r}."
                )
            values[key] = float(value)
        if values.get("style_saturation", 1.0) == 0:
            raise UsageError("Score weight 'style_saturation' must be greater than 0.")
        return dataclasses.replace(cls(), **values)


DEFAULT_WEIGHTS = Weights()


def score(
    fields: Mapping[str, Any], weights: Weights = DEFAULT_WEIGHTS
) -> tuple[float, dict[str, float]]:
    """``(overall_score, breakdown)`` for one result row.

    ``fields`` holds row columns (``status``, ``tests_*``, ``extra_tests_*``,
    ``coverage``, ``ruff_codes``, ``missing_imports``, ratios, ``side_effects``) and may
    hold the static counts of :class:`tasks.quality.static.StaticReport`
    (``dangerous_calls``, ``swallowed_exceptions``, ``print_calls``, ``file_writes``,
    ``global_statements``); when those are absent they are computed from ``code``.
    Unknown keys are ignored.
    """
    w = weights
    status = str(fields.get("status") or "")
    if status in GATED or fields.get("syntax_valid") is False:
        return 0.0, {"gate": 1.0}
    facts = _static_facts(fields)

    t = _share(fields.get("tests_passed"), fields.get("tests_total"), empty=0.0)
    d = _share(fields.get("extra_tests_passed"), fields.get("extra_tests_total"), empty=1.0)
    after_diff = t * (1.0 - w.differential * (1.0 - d))
    # A wrong answer on a hidden input caps correctness as a failed run does (once).
    correctness = after_diff * (1.0 if status == "pass" and d == 1.0 else w.fail_factor)
    cap = after_diff - correctness
    breakdown = {
        "tests": 1.0 - t,
        "differential": t - after_diff + (cap if status == "pass" else 0.0),
        "status": cap if status != "pass" else 0.0,
    }

    penalties = _penalties(fields, facts, w)
    total = sum(penalties.values())
    quality = max(0.0, 1.0 - total)
    scale = 1.0 if total <= 1.0 else 1.0 / total  # losses never exceed what was left
    for name, p in penalties.items():
        breakdown[name] = correctness * p * scale
    overall = min(1.0, max(0.0, correctness * quality))
    return overall, {k: round(v, 6) for k, v in breakdown.items() if v > 0}


def _penalties(fields: Mapping[str, Any], facts: dict[str, Any], w: Weights) -> dict[str, float]:
    codes = [str(c) for c in fields.get("ruff_codes") or ()]
    security_codes = [c for c in codes if c.startswith("S")]
    n_security = len(security_codes) + len(facts["dangerous_calls"])
    side_effects = [str(s) for s in fields.get("side_effects") or ()]
    printed = any(s.lower().startswith(_OUTPUT_PREFIXES) for s in side_effects)
    files = len(side_effects) > sum(s.lower().startswith(_OUTPUT_PREFIXES) for s in side_effects)
    coverage = fields.get("coverage")
    return {
        "security": w.security * min(1.0, n_security / 2),
        "imports": w.imports * bool(fields.get("missing_imports")),
        "files": w.files * bool(files or facts["file_writes"]),
        "output": w.output * bool(printed or facts["print_calls"]),
        "swallowed": w.swallowed * min(1, facts["swallowed_exceptions"]),
        "globals": w.globals * min(1, facts["global_statements"]),
        "style": w.style * min(1.0, (len(codes) - len(security_codes)) / w.style_saturation),
        "typing": w.typing * (1.0 - _ratio(fields.get("type_hint_ratio"))),
        "docs": w.docs * (1.0 - _ratio(fields.get("docstring_ratio"))),
        "coverage": 0.0 if coverage is None else w.coverage * (1.0 - _ratio(coverage)),
    }


def _static_facts(fields: Mapping[str, Any]) -> dict[str, Any]:
    if all(k in fields for k in _STATIC_KEYS):
        facts = {k: fields[k] for k in _STATIC_KEYS}
        facts["global_statements"] = fields.get("global_statements", 0)
    else:
        report = analyze(str(fields.get("code") or ""))
        facts = {k: getattr(report, k) for k in (*_STATIC_KEYS, "global_statements")}
    facts["dangerous_calls"] = list(facts["dangerous_calls"] or ())
    return facts


def _share(part: Any, whole: Any, *, empty: float) -> float:
    if not whole:
        return empty
    return min(1.0, max(0.0, float(part or 0) / float(whole)))


def _ratio(value: Any) -> float:
    return 0.0 if value is None else min(1.0, max(0.0, float(value)))
