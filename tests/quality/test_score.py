import json

import pytest

from tasks.errors import UsageError
from tasks.quality.score import GATED, Weights, score

GOOD_CODE = 'def add(a: int, b: int) -> int:\n    """Add."""\n    return a + b\n'


def row(**over):
    base = {
        "status": "pass",
        "code": GOOD_CODE,
        "syntax_valid": True,
        "tests_passed": 5,
        "tests_total": 5,
        "extra_tests_passed": 10,
        "extra_tests_total": 10,
        "coverage": 1.0,
        "ruff_codes": [],
        "missing_imports": [],
        "type_hint_ratio": 1.0,
        "docstring_ratio": 1.0,
        "side_effects": [],
    }
    base.update(over)
    return base


def test_a_clean_passing_sample_scores_one():
    overall, breakdown = score(row())
    assert overall == 1.0
    assert breakdown == {}


@pytest.mark.parametrize("status", sorted(GATED))
def test_gated_statuses_score_zero(status):
    assert score(row(status=status)) == (0.0, {"gate": 1.0})


def test_breakdown_sums_to_the_points_lost_and_is_json():
    fields = row(
        status="fail",
        tests_passed=4,
        extra_tests_passed=6,
        ruff_codes=["F401", "S307"],
        type_hint_ratio=0.5,
        docstring_ratio=0.0,
        coverage=0.8,
        side_effects=["stdout: 3 lines", "created out.txt"],
    )
    overall, breakdown = score(fields)
    assert 0.0 < overall < 1.0
    assert sum(breakdown.values()) == pytest.approx(1.0 - overall, abs=1e-5)
    assert json.loads(json.dumps(breakdown)) == breakdown
    for term in ("tests", "differential", "status", "security", "files", "output", "style"):
        assert breakdown[term] > 0


def test_heavy_penalties_never_push_below_zero():
    bad = (
        "import os\ndef f(s):\n    global X\n    print(s)\n    open(s, 'w')\n"
        "    try:\n        eval(s)\n    except:\n        pass\n"
    )
    overall, breakdown = score(
        row(
            code=bad,
            ruff_codes=["S307"] + ["E501"] * 9,
            missing_imports=["fakepkg"],
            type_hint_ratio=0.0,
            docstring_ratio=0.0,
            coverage=0.0,
        )
    )
    assert overall == 0.0
    assert sum(breakdown.values()) == pytest.approx(1.0, abs=1e-5)


def test_reviewer_order_correct_beats_risky_beats_wrong():
    clean, _ = score(row())
    untyped, _ = score(row(type_hint_ratio=0.0, docstring_ratio=0.0))
    risky, _ = score(row(code="def add(a, b):\n    return eval(f'{a}+{b}')\n", ruff_codes=["S307"]))
    memoised, _ = score(row(extra_tests_passed=1))
    close, _ = score(row(status="fail", tests_passed=4))
    wrong, _ = score(row(status="fail", tests_passed=0))
    assert clean > untyped > risky > wrong
    assert clean > memoised > wrong
    assert untyped > close > wrong
    assert wrong == 0.0


def test_static_facts_come_from_the_row_when_given():
    printing = 'def f() -> None:\n    """Doc."""\n    print(1)\n'
    from_code, b1 = score(row(code=printing))
    given, b2 = score(
        row(code=printing, dangerous_calls=[], swallowed_exceptions=0, print_calls=0, file_writes=0)
    )
    assert "output" in b1 and "output" not in b2
    assert from_code < given


def test_unknown_coverage_and_missing_counts_are_not_penalised():
    overall, _ = score(row(coverage=None, extra_tests_total=0, extra_tests_passed=0))
    assert overall == 1.0
    assert score(row(tests_total=0, tests_passed=0))[0] == 0.0


def test_weights_from_mapping():
    w = Weights.from_mapping({"security": 0.5, "style": 0})
    assert w.security == 0.5 and w.style == 0.0 and w.docs == Weights().docs
    _, breakdown = score(row(ruff_codes=["E501"] * 3), w)
    assert "style" not in breakdown
    with pytest.raises(UsageError, match=r"'securty'.*known weights"):
        Weights.from_mapping({"securty": 1})
    with pytest.raises(UsageError, match="non-negative"):
        Weights.from_mapping({"docs": -1})
    with pytest.raises(UsageError, match="non-negative"):
        Weights.from_mapping({"docs": "high"})
    with pytest.raises(UsageError, match="style_saturation"):
        Weights.from_mapping({"style_saturation": 0})


def test_a_memoriser_that_fails_hidden_inputs_scores_below_a_correct_solution():
    """Issue 23's case: visible tests all pass, 13 of 41 extra tests fail, style perfect.

    Before the cap it scored 0.84, above a correct, graded-5 solution that lost 0.17 to
    review terms (0.83): failing a third of the hidden inputs cost only 16%.
    """
    memoriser, breakdown = score(row(extra_tests_passed=28, extra_tests_total=41))
    correct, _ = score(row(type_hint_ratio=0.0, docstring_ratio=0.3, coverage=0.6))
    assert correct == pytest.approx(0.8, abs=0.05)
    assert memoriser < correct
    # The cap is what a failed run gets (fail_factor), charged to the extra tests.
    assert memoriser == pytest.approx((1 - 0.5 * 13 / 41) * Weights().fail_factor)
    assert set(breakdown) == {"differential"}
    # Passing every extra test, or having none, is not capped.
    assert score(row(extra_tests_passed=41, extra_tests_total=41))[0] == 1.0
    assert score(row(extra_tests_passed=None, extra_tests_total=None))[0] == 1.0


def test_a_failed_run_is_capped_once_even_when_extra_tests_fail_too():
    both, breakdown = score(row(status="fail", tests_passed=4, extra_tests_passed=5))
    w = Weights()
    assert both == pytest.approx(0.8 * (1 - w.differential * 0.5) * w.fail_factor)
    assert breakdown["status"] > 0
