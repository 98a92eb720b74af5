"""Property tests: bad values never lose a row; no interval leaves its possible range."""

from __future__ import annotations

import io
import re

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from synthetic import row_of, table_of

from tasks.record.results import COLUMN_NAMES, SCHEMA, rows_to_table
from tasks.record.row import Row
from tasks.record.types import STATUSES, Generation, GenerationOptions
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
    text = render_markdown(out.summary, out.comparisons, {"run_id": "x"}, history)
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
