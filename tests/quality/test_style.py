import subprocess
import sys
import time

import pytest

from tasks.errors import VivekError
from tasks.quality import style
from tasks.quality.style import RULES, RuffReport, ruff_batch
from tasks.record.results import COLUMN_NAMES

CLEAN = 'def add(a: int, b: int) -> int:\n    """Add."""\n    return a + b\n'
RISKY = "import os\n\n\ndef run(s):\n    return eval(s)  # noqa\n"


def test_findings_map_back_to_their_sample_in_order():
    reports = ruff_batch([RISKY, CLEAN, "def (:\n", CLEAN.rstrip("\n")])
    assert len(reports) == 4
    assert reports[0].codes == ("F401", "S307")  # the noqa comment is ignored
    assert reports[1] == RuffReport(0, ())
    assert reports[1].follows_style_guide
    assert reports[2].violations >= 1 and "invalid-syntax" in reports[2].codes
    assert reports[3].violations == 0  # no trailing newline is not a finding


def test_empty_batch_runs_nothing(monkeypatch):
    monkeypatch.setattr(style, "_run", lambda cmd: pytest.fail("ruff was started"))
    assert ruff_batch([]) == []


def test_rule_set_covers_security_and_correctness():
    assert {"S", "B", "F", "E"} <= set(RULES)
    cmd = style.ruff_command("dir")
    assert "--ignore-noqa" in cmd and "--isolated" in cmd
    assert "S101" in cmd[cmd.index("--ignore") + 1]


def test_row_fields_are_result_columns():
    fields = RuffReport(2, ("F401", "S307")).row_fields()
    assert set(fields) <= set(COLUMN_NAMES)
    assert fields["follows_style_guide"] is False
    assert fields["ruff_codes"] == ["F401", "S307"]


def test_ruff_missing_is_a_vivek_error(monkeypatch):
    monkeypatch.setattr(style, "ruff_bin", lambda: "/nonexistent/ruff")
    with pytest.raises(VivekError, match="could not run"):
        ruff_batch([CLEAN])


def test_ruff_failure_is_a_vivek_error(monkeypatch):
    monkeypatch.setattr(style, "ruff_command", lambda d: [sys.executable, "-c", "exit(2)"])
    with pytest.raises(VivekError, match="failed with code 2"):
        ruff_batch([CLEAN])
    monkeypatch.setattr(style, "ruff_command", lambda d: [sys.executable, "-c", "print('{')"])
    with pytest.raises(VivekError, match="invalid JSON"):
        ruff_batch([CLEAN])


@pytest.mark.slow
def test_batch_is_faster_than_one_process_per_sample(tmp_path):
    """Measurement only (printed, never asserted: the machine is noisy)."""
    codes = [CLEAN.replace("add", f"add_{i}") if i % 2 else RISKY for i in range(500)]
    start = time.perf_counter()
    reports = ruff_batch(codes)
    batch_s = time.perf_counter() - start
    assert len(reports) == 500 and reports[0].codes == ("F401", "S307")

    start = time.perf_counter()
    for i, code in enumerate(codes[:50]):
        path = tmp_path / f"one_{i}.py"
        path.write_text(code)
        subprocess.run(style.ruff_command(str(path)), capture_output=True, check=True)
    single_s = time.perf_counter() - start
    print(
        f"\nruff: 500 samples in one batch {batch_s:.2f}s ({batch_s / 500 * 1000:.1f} ms/sample); "
        f"one process per sample {single_s / 50 * 1000:.1f} ms/sample "
        f"(x{(single_s / 50) / (batch_s / 500):.0f})"
    )
