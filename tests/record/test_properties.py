"""Property tests: bad values never lose a row; what was not measured is null, never 0;
no interval leaves its possible range."""

from __future__ import annotations

import io
import re

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from nulls import FILLED_WITHOUT_GENERATION, NULLABLE, RUNTIME, STATIC
from synthetic import row_of, table_of

from tasks.record.checks import CheckFields
from tasks.record.results import COLUMN_NAMES, SCHEMA, rows_to_table
from tasks.record.row import Row
from tasks.record.types import STATUSES, Generation, GenerationOptions
from tasks.report.inputs import ReportInputs
from tasks.report.markdown import render_markdown
from tasks.run.generate import CellOutcome
from tasks.stats.history import compare_runs
from tasks.stats.summary import summarize

_SURROGATES = st.text(st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF), min_size=1)
_ANY_TEXT = st.one_of(st.text(), _SURROGATES, st.text() | _SURROGATES.map(lambda s: "a" + s))
_HUGE = st.one_of(st.integers(min_value=-(2**80), max_value=2**80), st.just(2**63), st.just(-1))
_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    _HUGE,
    st.floats(allow_nan=True, allow_infinity=True),
    _ANY_TEXT,
    st.binary(max_size=20),
)
_VALUES = st.one_of(
    _SCALARS,
    st.lists(_SCALARS, max_size=3),
    st.dictionaries(st.text(max_size=3), _SCALARS, max_size=2),
    st.tuples(_SCALARS),
)
# Rows whose fields hold anything at all: a dataclass checks no value.
_ROWS = st.lists(st.dictionaries(st.sampled_from(COLUMN_NAMES), _VALUES, max_size=12), max_size=6)
_FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _writes(table: pa.Table) -> None:
    sink = io.BytesIO()
    pq.write_table(table, sink)
    assert pq.read_table(io.BytesIO(sink.getvalue())).num_rows == table.num_rows


@_FAST
@given(_ROWS)
def test_any_rows_make_a_valid_table_with_one_row_each(rows):
    table = rows_to_table([row_of(**r) for r in rows])
    assert table.schema == SCHEMA and table.num_rows == len(rows)
    _writes(table)


def test_one_bad_value_costs_neither_its_row_nor_another():
    good = {"model": "m", "task_id": "t", "status": "pass", "error": ""}
    bad = {
        "model": "m\udcff",
        "task_id": "t",
        "status": "fail",
        "error": "boom",
        "prompt_tokens": "ten",
        "finish_reason": 7,
        "completion": ["a", "list"],
        "coverage": float("nan"),
        "tests_total": 2**40,
    }
    table = table_of([good, bad, good])
    rows = table.to_pylist()
    assert rows[0] == rows[2] and rows[0]["error"] == ""
    assert rows[1]["model"] == "m\\udcff"  # the raw value kept, escaped
    assert rows[1]["prompt_tokens"] is None and rows[1]["finish_reason"] == "7"
    assert rows[1]["coverage"] is None and rows[1]["tests_total"] is None
    assert rows[1]["completion"] == "['a', 'list']"
    assert rows[1]["error"].startswith("boom [invalid values: ")
    assert "prompt_tokens" in rows[1]["error"]
    _writes(table)
    with pytest.raises(TypeError):  # a column the record does not have cannot be written
        row_of(bogus=1)


@_FAST
@given(
    text=_ANY_TEXT,
    tokens=_VALUES,
    finish=_VALUES,
    cost=_VALUES,
)
def test_rows_built_from_odd_generations_always_fit(text, tokens, finish, cost):
    gen = Generation(
        text=text, model="m", prompt_tokens=tokens, finish_reason=finish, cost_usd=cost
    )
    outcome = CellOutcome("m", "p", "t", 0, "k", GenerationOptions(), generation=gen)
    failed = CellOutcome("m", "p", "t", 1, "k", GenerationOptions(), error=text)
    rows = [
        Row.generation_failed("r", "s", failed),
        Row.sandbox_failed("r", "s", outcome, text),
    ]
    table = rows_to_table(rows)
    assert table.num_rows == 2
    _writes(table)


# -- intervals stay possible ------------------------------------------------------------

_CELL = st.tuples(st.sampled_from(STATUSES), st.none() | st.floats(0, 1), st.none() | st.booleans())


@st.composite
def result_tables(draw, run_id: str = "r") -> pa.Table:
    n_models = draw(st.integers(1, 3))
    n_tasks = draw(st.integers(1, 6))
    n_samples = draw(st.integers(1, 3))
    rows = []
    for m in range(n_models):
        for t in range(n_tasks):
            for s in range(n_samples):
                status, score, plus = draw(_CELL)
                rows.append(
                    {
                        "run_id": run_id,
                        "model": f"m{m}",
                        "task_id": f"t{t}",
                        "sample": s,
                        "status": status,
                        "overall_score": score,
                        "plus_passed": plus and status == "pass",
                    }
                )
    return table_of(rows)


_CI = re.compile(r"\[([+-]?\d+\.\d+), ([+-]?\d+\.\d+)\]")


def _inside(low, high, lo: float, hi: float) -> bool:
    return low is None or (lo - 1e-12 <= low <= high <= hi + 1e-12)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(result_tables(), result_tables("r2"), st.integers(0, 2**16))
def test_no_interval_leaves_its_possible_range(results, previous, seed):
    out = summarize(results, seed=seed, n_boot=60)
    for r in out.summary.to_pylist():
        for name in ("primary", "pass_at_1", "pass_at_1_plus", "overall_score"):
            assert _inside(r[f"{name}_ci_low"], r[f"{name}_ci_high"], 0.0, 1.0), (name, r)
    for r in out.comparisons.to_pylist():
        assert _inside(r["ci_low"], r["ci_high"], -1.0, 1.0), r
        assert _inside(r["ci_low_adj"], r["ci_high_adj"], -1.0, 1.0), r
        assert r["p_value"] is None or 0.0 <= r["p_value"] <= 1.0
        assert r["mdd"] is None or 0.0 < r["mdd"] <= 1.0
    for metric in ("pass@1", "pass@1+"):
        history = compare_runs(previous, results, primary=metric, seed=seed, n_boot=60)
        for r in history.to_pylist():
            assert _inside(r["ci_low"], r["ci_high"], -1.0, 1.0), r
            assert _inside(r["ci_low_adj"], r["ci_high_adj"], -1.0, 1.0), r
    text = render_markdown(ReportInputs(out.summary, out.comparisons, {"run_id": "x"}, history))
    for low, high in _CI.findall(text):
        signed = low[0] in "+-" or high[0] in "+-"
        assert _inside(float(low), float(high), -1.0 if signed else 0.0, 1.0), (low, high)


@pytest.mark.parametrize("n", [1, 3, 10])
def test_a_perfect_score_on_few_tasks_gets_an_interval_below_one(n):
    rows = [
        {"model": "m", "task_id": f"t{i}", "status": "pass", "overall_score": 1.0} for i in range(n)
    ]
    row = summarize(table_of(rows), n_boot=100).summary.to_pylist()[0]
    assert row["pass_at_1"] == 1.0 and row["pass_at_1_ci_high"] == 1.0
    assert 0.0 < row["pass_at_1_ci_low"] < 1.0  # Wilson, not a [1, 1] point


# -- "not measured" is null, never 0 -----------------------------------------------------

_MAYBE_COUNT = st.none() | st.integers(0, 10**6)
_MAYBE_FLOAT = st.none() | st.floats(0, 1e6, allow_nan=False)
_GENERATIONS = st.none() | st.builds(
    Generation,
    text=st.text(max_size=20),
    model=st.just("m:x"),
    prompt_tokens=_MAYBE_COUNT,
    completion_tokens=_MAYBE_COUNT,
    latency_s=_MAYBE_FLOAT,
    cost_usd=_MAYBE_FLOAT,
    timestamp=st.none() | st.just("2026-01-01T00:00:00+00:00"),
    temperature_sent=st.none() | st.floats(0, 2),
    finish_reason=st.none() | st.sampled_from(["stop", "length"]),
)
_UNMEASURED = st.sampled_from(
    [
        ("no_code", lambda: CheckFields.no_code()),
        ("syntax_error", lambda: CheckFields.syntax_error("def f(:", "reply", "bad")),
        ("suite_error", lambda: CheckFields.suite_failed("broken", "x = 1", "reply")),
        ("sandbox_error", lambda: CheckFields.sandbox_failed("pool died")),
    ]
)
# Columns a check outcome leaves unmeasured, by status (tests/nulls.py's contract).
_NOT_MEASURED = {
    "no_code": RUNTIME | STATIC | {"syntax_valid"},
    "syntax_error": RUNTIME | STATIC,
    "suite_error": RUNTIME | STATIC | {"syntax_valid", "overall_score", "score_breakdown"},
    # The check task itself failed: not even how the program was built is known.
    "sandbox_error": RUNTIME
    | STATIC
    | {"syntax_valid", "overall_score", "score_breakdown"}
    | {"assembly"},
}
# Generation metrics a row copies: null exactly when the provider did not give them.
_FROM_GENERATION = (
    "prompt_tokens", "completion_tokens", "latency_s", "cost_usd", "timestamp",
    "temperature_sent", "finish_reason",
)  # fmt: skip


@_FAST
@given(generation=_GENERATIONS, checks=_UNMEASURED, error=st.text(max_size=10))
def test_what_was_not_measured_is_null_in_the_record_and_the_table(generation, checks, error):
    outcome = CellOutcome(
        "m:x", "m", "t", 0, "k", GenerationOptions(), generation=generation, error=error
    )
    if generation is None:
        row = Row.generation_failed("r", "s", outcome)
        unmeasured = set(COLUMN_NAMES) - FILLED_WITHOUT_GENERATION
    else:
        status, make = checks
        row = Row.checked("r", "s", outcome, make())
        assert row.status == status
        unmeasured = _NOT_MEASURED[status] | {
            name for name in _FROM_GENERATION if getattr(generation, name) is None
        }
        if generation.cost_usd is None:
            assert row.price_known is False  # a reply whose price is unknown, not free
    [stored] = rows_to_table([row]).to_pylist()
    assert {name for name in COLUMN_NAMES if stored[name] is None} - NULLABLE == (
        unmeasured - NULLABLE
    )
    for name in unmeasured:
        assert getattr(row, name) is None and stored[name] is None, name
    assert row.retried is False and stored["retried"] is False  # not re-run: never null


def test_a_reply_that_reports_no_metrics_has_none_in_its_row():
    """A provider that gives only the text: latency, cost and time are unknown, not 0."""
    reply = Generation(text="x = 1", model="m:x")
    outcome = CellOutcome("m:x", "m", "t", 0, "k", GenerationOptions(), generation=reply)
    row = Row.checked("r", "s", outcome, CheckFields.no_code())
    assert {name: getattr(row, name) for name in _FROM_GENERATION} == dict.fromkeys(
        _FROM_GENERATION
    )
    assert row.price_known is False
