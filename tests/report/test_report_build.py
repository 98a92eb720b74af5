from __future__ import annotations

import json

import pyarrow.parquet as pq
from synthetic import synthetic_results

from tasks.report import build_reports, run_meta
from tasks.results import write_table
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
