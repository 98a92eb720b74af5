"""The harness-cost benchmark's parts: the in-process harness it compares against."""

from __future__ import annotations

import ast

import pytest

from bench import check_throughput


def test_in_process_harness_is_extracted_from_git(tmp_path):
    root = check_throughput._in_process_tree(tmp_path)
    if root is None:  # a tarball or a shallow clone: the benchmark says so instead of measuring
        pytest.skip(f"no git history with {check_throughput.IN_PROCESS_REV} in this checkout")
    # The previous harness: the tests ran in the solution's own process (_child.py).
    assert (root / "tasks" / "sandbox" / "_child.py").exists()
    assert not (root / "tasks" / "sandbox" / "_test_side.py").exists()


def test_the_child_script_parses():
    ast.parse(check_throughput.HARNESS_CHILD)
