"""``vivek report`` and ``vivek compare`` on run folders: the run's own options, and what changed.

No Prefect server: both commands are plain Python over the Parquet files.
"""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest
from synthetic import table_of

from flows.aggregate import build_run_reports, leaderboard_description, leaderboard_rows
from flows.cli import main
from tasks.record.results import write_table
from tasks.report.escape import md
from tasks.run.events import load_facts, run_events, what_changed
from tasks.stats.schema import SummaryRow


def _run(out, run_id: str, n_tasks: int, passing: dict[str, int], **meta) -> str:
    """A finished-looking run folder: results.parquet and meta.json (state 'results')."""
    rows = [
        {"run_id": run_id, "suite": "basic", "model": model, "task_id": f"t{i:02d}",
         "sample": 0, "status": "pass" if i < n else "fail", "plus_passed": i < n - 1,
         "overall_score": 0.9 if i < n else 0.1, "temperature": 0.2, "max_tokens": 512,
         "system_prompt": "s", "checker_version": "4"}
        for model, n in passing.items()
        for i in range(n_tasks)
    ]  # fmt: skip
    folder = out / run_id
    write_table(table_of(rows), str(folder / "results.parquet"))
    meta = {"run_id": run_id, "state": "results", "suite": "basic", "samples": 1, **meta}
    (folder / "meta.json").write_text(json.dumps(meta))
    return str(folder)


def test_vivek_report_ranks_by_the_primary_metric_in_meta_json(tmp_path, capsys):
    run = _run(tmp_path, "r1", 10, {"a": 8, "b": 2}, primary_metric="overall_score")
    assert main(["report", run]) == 0
    summary = pq.read_table(f"{run}/summary.parquet").to_pylist()
    assert {r["primary_metric"] for r in summary} == {"overall_score"}
    assert json.loads((tmp_path / "r1" / "meta.json").read_text())["state"] == "complete"
    assert main(["report", run, "--primary-metric", "pass@1+"]) == 0  # a flag overrides it
    summary = pq.read_table(f"{run}/summary.parquet").to_pylist()
    assert {r["primary_metric"] for r in summary} == {"pass@1+"}
    assert "pass@1+" in capsys.readouterr().out


def test_a_bad_primary_metric_in_meta_json_is_one_sentence_naming_the_file(tmp_path, capsys):
    run = _run(tmp_path, "r1", 3, {"a": 2}, primary_metric="pass@7")
    assert main(["report", run]) == 2
    err = capsys.readouterr().err
    assert "r1/meta.json: primary_metric 'pass@7' is not one of" in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not (tmp_path / "r1" / "summary.parquet").exists()  # nothing half-written
    assert main(["report", run, "--primary-metric", "pass@1"]) == 0


@pytest.mark.parametrize(
    ("n_tasks", "words"),
    [
        (3, "replay:alpha: no significant change on basic: pass@1 1.000 -> 0.000"),
        (40, "replay:alpha regressed on basic: pass@1 1.000 -> 0.000"),
    ],
)
def test_the_terminal_says_what_changed_in_the_webhook_s_words(tmp_path, capsys, n_tasks, words):
    first = _run(tmp_path, "r1", n_tasks, {"replay:alpha": n_tasks})
    assert main(["report", first]) == 0
    out = capsys.readouterr().out
    assert "Evaluated (nothing to compare): replay:alpha" in out and "Winner" not in out
    assert "Not compared with an earlier run: no earlier run of this suite." in out
    second = _run(tmp_path, "r2", n_tasks, {"replay:alpha": 0})
    assert main(["report", second]) == 0
    out = capsys.readouterr().out
    events = run_events(load_facts(second, f"{second}/report.html"), load_facts(first))
    [sentence] = what_changed(events)
    assert sentence.startswith(words) and sentence in out
    assert md(sentence) in events[0].payload["message"]  # the same words, as Markdown
    if n_tasks == 3:
        assert "3 tasks: too few for any change to be detected; at least 6 are needed" in out
    else:
        assert events[1].payload["message"].startswith(f"Vivek: {md(sentence)}")
    report = (tmp_path / "r2" / "report.md").read_text()
    assert md(sentence) in report
    # The leaderboard artifact's description says it too (what publish_artifacts posts).
    paths = build_run_reports(second)
    summary = SummaryRow.read(pq.read_table(paths["summary"]))
    description = leaderboard_description(summary, paths["changes"], "r2")
    assert md(sentence) in description and description.startswith("Evaluated (nothing to compare)")
    board = leaderboard_rows(summary)
    assert board[0]["Decision"] == "evaluated (nothing to compare)"
    assert board[0]["pass@1+ [95% CI]"].startswith(md("0.000 ["))


def test_vivek_compare_shows_pass_at_1_plus_beside_the_primary_metric(tmp_path, capsys):
    a = _run(tmp_path, "r1", 12, {"m": 12}, primary_metric="pass@1")
    b = _run(tmp_path, "r2", 12, {"m": 6}, primary_metric="pass@1")
    assert main(["compare", a, b]) == 0
    out = capsys.readouterr().out
    assert out.index("pass@1:") < out.index("pass@1+:")
    assert "m regressed on basic: pass@1 1.000 -> 0.500" in out


def test_the_baseline_is_the_latest_comparable_run_not_just_the_latest(tmp_path, capsys):
    first = _run(tmp_path, "r1", 12, {"m": 12})
    other = _run(tmp_path, "r2", 12, {"m": 12}, samples=5)  # another setting: not comparable
    third = _run(tmp_path, "r3", 12, {"m": 0})
    for run in (first, other, third):
        assert main(["report", run]) == 0
    out = capsys.readouterr().out
    assert "Not compared with an earlier run: samples: 1 -> 5." in out  # r2 against r1
    assert "m regressed on basic: pass@1 1.000 -> 0.000" in out  # r3 against r1
    assert "run r1 -> r3" in out
    history = pq.read_table(f"{third}/history.parquet").to_pylist()
    assert {r["prev_run_id"] for r in history} == {"r1"}
