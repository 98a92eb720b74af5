"""``vivek`` on bad input: one sentence, exit code 2, no traceback, nothing written."""

from __future__ import annotations

import pytest

from flows.cli import main


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["--models", "nope:x"], "Unknown provider 'nope'"),
        (["--models", "gpt-4o"], "PROVIDER:MODEL"),
        (["--models", "replay:/no/such/file.jsonl"], "cannot be read"),
        (["--suite", "/no/such/suite.yaml"], "neither a built-in suite"),
        (["--samples", "0"], "'samples'"),
        (["--models", "llamacpp:/no/model.gguf"], "does not exist"),
        (["--models", "mock:a,mock:a"], "listed twice"),
    ],
)
def test_bad_input_exits_2_with_one_sentence(tmp_path, capsys, argv, fragment):
    out = tmp_path / "out"
    code = main(["eval", *argv, "--out", str(out), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2
    assert fragment in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    assert not out.exists()


def test_bad_config_key(tmp_path, capsys):
    cfg = tmp_path / "c.toml"
    cfg.write_text("modles = ['mock:x']\n")
    assert main(["eval", "--config", str(cfg), "--out", str(tmp_path / "o")]) == 2
    assert "unknown config key 'modles'" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_unknown_option_exits_2(capsys):
    with pytest.raises(SystemExit) as info:
        main(["eval", "--bogus"])
    assert info.value.code == 2


def test_report_on_missing_run(tmp_path, capsys):
    assert main(["report", str(tmp_path)]) == 2
    assert "no results.parquet" in capsys.readouterr().err
    assert main(["compare", str(tmp_path), str(tmp_path)]) == 2
