"""Calibrated time limits: a factor of the reference's CPU time, a floor, the configured ceiling."""

from __future__ import annotations

import pytest

from tasks.quality.timelimits import (
    FLOOR_S,
    ReferenceRun,
    ReferenceRuns,
    calibrated_cpu_s,
    reference_key,
)


@pytest.mark.parametrize(
    ("ref_ms", "ceiling", "expected"),
    [
        (5.0, 10.0, FLOOR_S),  # a fast reference: the floor
        (2000.0, 10.0, 8.0),  # 4 x 2 s
        (5000.0, 10.0, 10.0),  # capped by the configured limit
        (None, 10.0, 10.0),  # unknown: the configured limit
        (float("nan"), 7.0, 7.0),
        (5.0, 2.0, 2.0),  # a ceiling below the floor wins: the user asked for it
    ],
)
def test_calibrated_limit(ref_ms, ceiling, expected):
    assert calibrated_cpu_s(ref_ms, ceiling) == pytest.approx(expected)


def test_reference_runs_survive_a_new_checker_and_ignore_bad_entries(tmp_path):
    key = reference_key("def f(): pass", "def test(): pass", "2")
    assert ReferenceRuns(str(tmp_path)).get(key) is None
    run = ReferenceRun("pass", "", 12.5, ("1", "!ValueError"))
    ReferenceRuns(str(tmp_path)).put(key, run)
    assert ReferenceRuns(str(tmp_path)).get(key) == run  # read back from disk
    assert (tmp_path / "references").is_dir()
    other = reference_key("def f(): return 1", "def test(): pass", "2")
    store = ReferenceRuns(str(tmp_path))._store
    for bad in ({"cpu_ms": "fast"}, {"status": "pass", "error": "", "cpu_ms": 1, "outputs": [1]}):
        store.put(other, bad)
        assert ReferenceRuns(str(tmp_path)).get(other) is None  # a bad entry is an absent one
    assert ReferenceRuns().get(key) is None  # no store: memory only
    assert ReferenceRuns(str(tmp_path), read=False).get(key) is None  # --fresh
