"""MBPP's JSONL, original and sanitized, as Vivek tasks (issue 25)."""

import json
from pathlib import Path

import pytest

from tasks.errors import SuiteError
from tasks.suites.load import load_suite
from tests.agreement.mbpp_harness import SANITIZED_TEST, corpus_dir

DATA = Path(__file__).parents[1] / "data"


def _lines(name: str) -> list[dict]:
    return [json.loads(line) for line in (DATA / name).read_text().splitlines() if line.strip()]


def _write(tmp_path, records, name="bench.jsonl") -> Path:
    path = tmp_path / name
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in records))
    return path


def test_sanitized_format_loads_with_its_own_field_names():
    suite = load_suite(str(DATA / "mbpp_sanitized_slice.jsonl"))
    by_id = {t.id: t for t in suite.tasks}
    circle = by_id["mbpp/951"]
    assert circle.entry_point == "circle_area" and circle.broken is None
    assert "find the area of a circle" in circle.prompt
    assert "assert math.isclose(circle_area(1), math.pi)" in circle.prompt
    # MBPP's harness runs the test imports in the solution's namespace, and so does Vivek.
    assert circle.preamble == "import math\n"
    assert circle.tests.startswith("import math\n")
    compile(circle.tests, circle.id, "exec")


def test_original_format_keeps_its_setup_code_as_the_preamble():
    suite = load_suite(str(DATA / "mbpp_slice.jsonl"))
    by_id = {t.id: t for t in suite.tasks}
    assert by_id["mbpp/904"].preamble == "import math\n"
    assert by_id["mbpp/901"].preamble == ""


def test_the_entry_point_may_have_a_builtin_name():
    """A reference that defines ``sum`` is tested through ``sum`` (the file was refused)."""
    suite = load_suite(str(DATA / "mbpp_sanitized_slice.jsonl"))
    by_id = {t.id: t for t in suite.tasks}
    assert by_id["mbpp/952"].entry_point == "sum"
    assert "from solution import sum\n" in by_id["mbpp/952"].tests
    # A builtin the reference does not define is still skipped; a defined non-builtin
    # name wins over a defined builtin one.
    assert by_id["mbpp/953"].entry_point == "count_vowels"


def test_the_defined_non_builtin_name_wins(tmp_path):
    record = _lines("mbpp_sanitized_slice.jsonl")[1]
    record["code"] = "def max(a):\n    return a\n\ndef twice(a):\n    return 2 * a"
    record["test_list"] = ["assert max(twice(2)) == 4"]
    suite = load_suite(str(_write(tmp_path, [record])))
    assert suite.tasks[0].entry_point == "twice"


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({"code": "def f(:"}, "field 'code' is not valid Python"),
        ({"code": 3}, "field 'code' must be of type str"),
        ({"test_list": []}, "field 'test_list' must hold at least one assert"),
        ({"test_list": ["assert g(1) == 1"]}, "calls no function that field 'code' defines"),
        ({"test_list": ["assert f(1) ==="]}, "field 'test_list[0]' is not valid Python"),
        ({"test_list": "assert f()"}, "field 'test_list' must be of type list"),
        ({"test_imports": ["import (("]}, "field 'test_imports[0]' is not valid Python"),
        ({"test_imports": "import math"}, "field 'test_imports' must be of type list"),
        ({"prompt": None}, "field 'prompt' is missing"),
    ],
)
def test_a_task_that_cannot_be_understood_is_carried_with_its_reason(tmp_path, changes, fragment):
    """One odd task no longer costs the whole file: it is marked, the rest loads."""
    good, odd = _lines("mbpp_sanitized_slice.jsonl")[:2]
    odd.update(changes)
    odd = {k: v for k, v in odd.items() if v is not None}
    path = _write(tmp_path, [good, odd])
    suite = load_suite(str(path))
    assert [t.id for t in suite.tasks] == ["mbpp/951", "mbpp/952"]
    assert suite.tasks[0].broken is None
    reason = suite.tasks[1].broken
    assert reason is not None and reason.startswith(f"{path}: line 2") and fragment in reason
    assert "\n" not in reason


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({"text": None}, "field 'text' is missing"),
        ({"test_list": [1]}, "field 'test_list' must be a list of strings"),
        ({"test_setup_code": ["x"]}, "field 'test_setup_code' must be of type str"),
        ({"test_setup_code": "import (("}, "field 'test_setup_code' is not valid Python"),
    ],
)
def test_original_format_tasks_are_carried_with_their_reason(tmp_path, changes, fragment):
    good, odd = _lines("mbpp_slice.jsonl")[:2]
    odd.update(changes)
    odd = {k: v for k, v in odd.items() if v is not None}
    suite = load_suite(str(_write(tmp_path, [good, odd])))
    assert suite.tasks[0].broken is None and fragment in (suite.tasks[1].broken or "")


@pytest.mark.parametrize(
    ("bad", "fragment"),
    [
        ("[1, 2]", "line 2 must be a JSON object"),
        ({"prompt": "p", "code": "x = 1", "test_list": ["assert x"]}, "line 2: field 'task_id'"),
        ({"task_id": [1], "text": "t", "code": "", "test_list": []}, "line 2: field 'task_id'"),
    ],
)
def test_a_line_that_is_not_an_mbpp_record_refuses_the_file(tmp_path, bad, fragment):
    good = _lines("mbpp_sanitized_slice.jsonl")[0]
    with pytest.raises(SuiteError, match=fragment):
        load_suite(str(_write(tmp_path, [good, bad])))


def test_published_sanitized_test_split_loads_all_257_tasks():
    suite = load_suite(str(corpus_dir() / SANITIZED_TEST))
    assert len(suite.tasks) == 257
    assert [t for t in suite.tasks if t.broken] == []
    by_id = {t.id: t for t in suite.tasks}
    assert by_id["mbpp/126"].entry_point == "sum"  # the task that refused the whole file
    assert sum(1 for t in suite.tasks if t.preamble == "import math\n") == 13
    for task in suite.tasks:
        compile(task.tests, task.id, "exec")
        assert task.tests.count("\ndef test_") == len(
            task.prompt.split("tests:\n\n")[1].splitlines()
        )
