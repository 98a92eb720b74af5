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


def closed_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["--models", ""], "at least one model"),
        (["--models", " , "], "at least one model"),
        (["--dask-address", "tcp://127.0.0.1:{port}"], "unreachable"),
        (["--dask-address", "127.0.0.1:{port}", "--task-runner", "thread"], "needs task_runner"),
        (["--task-runner", "dask", "--dask-address", "tcp://127.0.0.1:{port}"], "127.0.0.1"),
    ],
)
def test_more_bad_input_before_any_generation(tmp_path, capsys, argv, fragment):
    """Issue 16.6: empty --models, Dask address problems: exit 2, one sentence."""
    out = tmp_path / "out"
    argv = [a.format(port=closed_port()) for a in argv]
    code = main(["eval", "--models", "mock:x", *argv, "--out", str(out), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2 and fragment in err and len(err.strip().splitlines()) == 1, err
    assert not out.exists()


@pytest.mark.parametrize("argv", [["--model", "mock:x"], ["--sampl", "2"], ["--bogus"]])
def test_abbreviations_and_unknown_options_are_refused(capsys, argv):
    with pytest.raises(SystemExit) as info:
        main(["eval", *argv])
    err = capsys.readouterr().err
    assert info.value.code == 2 and len(err.strip().splitlines()) == 1
    assert "unrecognized arguments" in err


def test_bad_score_weight_fails_before_any_generation(tmp_path, capsys):
    """Issue 14: a typo in [score_weights] is exit 2 at once, not sandbox_error rows."""
    cfg = tmp_path / "c.toml"
    cfg.write_text("models = ['mock:x']\n[score_weights]\nstlye = 0.1\n")
    assert main(["eval", "--config", str(cfg), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "Unknown score weight 'stlye'" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "o").exists()


def test_unwritable_output_fails_before_any_generation(tmp_path, capsys):
    """Issue 13.7: a read-only --out is one sentence and exit 2, not a late traceback."""
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(["eval", "--models", "mock:x", "--out", str(blocker / "out")]) == 2
    err = capsys.readouterr().err
    assert "is not writable" in err and len(err.strip().splitlines()) == 1


def test_options_come_from_run_config():
    """The option list is RunConfig's: every scalar field is a flag, nothing else is."""
    from flows.cli import _parser
    from tasks.config import RunConfig

    parser, fields = _parser()
    eval_parser = parser._subparsers._group_actions[0].choices["eval"]
    flags = {a.dest for a in eval_parser._actions} - {"help", "config", "no_progress"}
    tables = {"providers", "model_settings", "sandbox", "retry", "score_weights"}
    assert flags == set(fields) == set(RunConfig.model_fields) - tables


def test_missing_key_is_reported_without_starting_a_server(tmp_path, capsys, monkeypatch):
    """Issue 16.7: no PREFECT_API_URL means no Secret block to find: no server is started."""
    from prefect.blocks.system import Secret

    looked_up = []
    monkeypatch.setattr(Secret, "load", lambda *a, **k: looked_up.append(a))
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings(restore_defaults={PREFECT_API_URL}):
        code = main(["eval", "--models", "openai:gpt-4o", "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code == 2 and "OPENAI_API_KEY" in err and looked_up == []
