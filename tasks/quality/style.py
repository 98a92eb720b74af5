"""Ruff on many samples with one ruff process per batch.

Each sample is written to its own file (``s_00000.py``...) in a temporary folder,
ruff checks the folder once, and its JSON findings are mapped back by file name.
Starting ruff once per sample costs a process start each; see the timing in
``tests/quality/test_style.py::test_batch_is_faster_than_one_process_per_sample``.

The rule set (``RULES``) covers correctness, security and readability:

* ``E``, ``W``, ``F``: pycodestyle and pyflakes (undefined names, unused imports...).
* ``B``: bugbear (mutable defaults, loop-variable closures...).
* ``S``: flake8-bandit security (eval, shell=True, pickle, hard-coded passwords...).
* ``UP``, ``SIM``, ``C4``, ``PIE``: outdated idioms and needless complexity.
* ``N``: pep8 naming.
* ``PLE``, ``PLW``: pylint errors and warnings.
* ``RUF``: ruff's own correctness rules.

``IGNORED`` drops rules that are unfair to a generated snippet: ``S101`` (assert is
how many snippets check preconditions), ``S311`` (``random`` is fine outside crypto),
``W292``/``W391`` (trailing newlines depend on how code was extracted from the reply),
``S105``-``S107`` (the "hardcoded password" heuristics fire on any name like ``token``,
which every parser and tokenizer uses: the basic suite's own calculator tripped them),
``E501`` is kept at 100 columns. ``# noqa`` comments are ignored: a model must not
be able to silence the checker. ``print`` and broad ``except`` are not ruff's job
here; ``tasks.quality.static`` counts them once.
"""

from __future__ import annotations

import json
import os
import subprocess
import sysconfig
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tasks.errors import VivekError

RULES: tuple[str, ...] = (
    "E",
    "W",
    "F",
    "B",
    "S",
    "UP",
    "SIM",
    "C4",
    "PIE",
    "N",
    "PLE",
    "PLW",
    "RUF",
)
IGNORED: tuple[str, ...] = ("S101", "S105", "S106", "S107", "S311", "W292", "W391")
LINE_LENGTH = 100
TARGET_VERSION = "py311"
TIMEOUT_S = 600.0


@dataclass(frozen=True)
class RuffReport:
    """Ruff's findings for one sample: their count and one code per finding."""

    violations: int
    codes: tuple[str, ...] = ()

    @property
    def follows_style_guide(self) -> bool:
        return self.violations == 0

    def row_fields(self) -> dict[str, object]:
        return {
            "ruff_violations": self.violations,
            "ruff_codes": list(self.codes),
            "follows_style_guide": self.follows_style_guide,
        }


def ruff_bin() -> str:
    """The ruff binary of this environment."""
    path = os.path.join(sysconfig.get_path("scripts"), "ruff")
    if os.path.exists(path):
        return path
    from ruff.__main__ import find_ruff_bin  # the wheel's own lookup, as a fallback

    return find_ruff_bin()


def ruff_command(target: str) -> list[str]:
    return [
        ruff_bin(),
        "check",
        "--output-format",
        "json",
        "--no-cache",
        "--isolated",
        "--ignore-noqa",
        "--exit-zero",
        "--line-length",
        str(LINE_LENGTH),
        "--target-version",
        TARGET_VERSION,
        "--select",
        ",".join(RULES),
        "--ignore",
        ",".join(IGNORED),
        target,
    ]


def ruff_batch(codes: Sequence[str]) -> list[RuffReport]:
    """Check every code with one ruff process; reports come back in input order.

    Raises:
        VivekError: ruff itself failed (not a finding: a broken checker).
    """
    if not codes:
        return []
    with tempfile.TemporaryDirectory(prefix="vivek-ruff-") as tmp:
        names = []
        for i, code in enumerate(codes):
            name = f"s_{i:05d}.py"
            # A final newline is added so extraction details never count as findings.
            Path(tmp, name).write_text(code if code.endswith("\n") else code + "\n", "utf-8")
            names.append(name)
        findings = _run(ruff_command(tmp))
    by_file: dict[str, list[str]] = {name: [] for name in names}
    for item in findings:
        name = os.path.basename(str(item.get("filename", "")))
        if name in by_file:
            by_file[name].append(str(item.get("code") or "invalid-syntax"))
    return [RuffReport(len(c), tuple(sorted(c))) for c in (by_file[n] for n in names)]


def _run(cmd: list[str]) -> list[dict[str, object]]:
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT_S, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise VivekError(f"ruff could not run: {exc}") from exc
    if proc.returncode != 0:
        raise VivekError(f"ruff failed with code {proc.returncode}: {proc.stderr.strip()[:300]}")
    try:
        data = json.loads(proc.stdout or "[]")
    except json.JSONDecodeError as exc:
        raise VivekError(f"ruff printed invalid JSON: {exc}") from exc
    return data if isinstance(data, list) else []
