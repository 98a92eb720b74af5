from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest
from synthetic import synthetic_results

from tasks.record.results import write_table
from tasks.report import build_reports, run_meta
from tasks.stats import COMPARISON_SCHEMA, HISTORY_SCHEMA, SUMMARY_SCHEMA


def test_build_reports_writes_every_file(tmp_path, results):
    write_table(results, str(tmp_path / "results.parquet"))
    prev = synthetic_results(3, 20, 3, seed=9, run_id="before")
    write_table(prev, str(tmp_path / "prev.parquet"))
    (tmp_path / "meta.json").write_text(json.dumps({"suite": "from-meta", "note": "hi"}))
    paths = build_reports(
        str(tmp_path), str(tmp_path / "prev.parquet"), n_boot=200, meta={"note": "override"}
    )
    assert set(paths) == {"summary", "comparisons", "markdown", "html", "history"}
    assert pq.read_schema(paths["summary"]).equals(SUMMARY_SCHEMA)
    assert pq.read_schema(paths["comparisons"]).equals(COMPARISON_SCHEMA)
    assert pq.read_schema(paths["history"]).equals(HISTORY_SCHEMA)
    assert pq.read_table(paths["summary"]).num_rows == 3
    md = (tmp_path / "report.md").read_text()
    assert "**suite**: from-meta" in md and "**note**: override" in md
    assert (tmp_path / "report.html").read_text().startswith("<!DOCTYPE html>")
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_build_reports_without_history(tmp_path):
    write_table(synthetic_results(2, 5, 1, seed=0), str(tmp_path / "results.parquet"))
    paths = build_reports(str(tmp_path) + "/", n_boot=50)
    assert "history" not in paths
    assert not (tmp_path / "history.parquet").exists()


def test_run_meta_reads_the_results():
    table = synthetic_results(2, 3, 1, seed=0, run_id="r-1")
    meta = run_meta(table, extra="x")
    assert meta["run_id"] == "r-1" and meta["suite"] == "synthetic"
    assert meta["models"] == ["fake:model-0", "fake:model-1"]
    assert meta["rows"] == 6 and meta["extra"] == "x"
    assert "sandbox" not in meta  # synthetic rows have no sandbox config


def test_vivek_report_works_on_results_written_before_checker_version_2(tmp_path):
    """Old schema: no assembly or temperature_sent, zeros where nulls are now, old statuses."""
    import pyarrow as pa

    from tasks.record.results import SCHEMA

    old_columns = [f for f in SCHEMA if f.name not in ("assembly", "temperature_sent")]
    zeros = {"coverage": 0.0, "execution_time_ms": 0.0, "peak_memory_mb": 0.0}
    zeros |= {"ruff_violations": 0, "tests_total": 3, "tests_passed": 0, "extra_tests_total": 0}
    measured = {"coverage": 0.9, "execution_time_ms": 20.0, "peak_memory_mb": 31.0}
    measured |= {"ruff_violations": 1, "tests_total": 3, "tests_passed": 3}
    measured |= {"runs_without_error": True, "extra_tests_total": 4, "extra_tests_passed": 4}
    loading = zeros | {"execution_time_ms": 20.0, "peak_memory_mb": 31.0}  # it did run
    measured["cost_usd"] = loading["cost_usd"] = 0.01  # old failed calls: null cost, "known"
    rows = []
    for i, (status, values) in enumerate(
        [("pass", measured), ("generation_error", zeros), ("import_error", loading)] * 2
    ):
        rows.append(
            {"run_id": "old", "suite": "basic", "model": f"m:{i % 2}", "task_id": f"t{i // 2}"}
            | {"sample": 0, "status": status, "checker_version": "1", "price_known": True}
            | {"overall_score": 1.0 if status == "pass" else 0.0, "missing_imports": []}
            | {"runs_without_error": status == "pass"}
            | values
        )
    table = pa.Table.from_pylist(rows, schema=pa.schema(old_columns))
    pq.write_table(table, str(tmp_path / "results.parquet"))
    paths = build_reports(str(tmp_path), n_boot=50)
    summary = {r["model"]: r for r in pq.read_table(paths["summary"]).to_pylist()}
    for row in summary.values():
        if row["n_pass"]:
            assert row["coverage_mean"] == pytest.approx(0.9) and row["n_coverage"] == row["n_pass"]
            assert row["execution_time_ms_mean"] == pytest.approx(20.0)
            assert row["n_execution_time_ms"] == 2  # pass and import_error, not the failed call
        assert row["n_import_error"] == 0  # no package was missing: the loader raised
        assert row["price_unknown"] is False
    assert sum(r["n_module_error"] for r in summary.values()) == 2
    assert "module_error" in (tmp_path / "report.md").read_text()
