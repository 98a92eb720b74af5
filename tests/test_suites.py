import json

import pytest

from tasks.errors import SuiteError, UsageError
from tasks.suites import load_suite

GOOD = """
name: mini
tasks:
  - id: add
    prompt: Write add(a, b).
    entry_point: add
    tests: |
      from solution import add
      def test_add():
          assert add(1, 2) == 3
    reference: |
      def add(a, b):
          return a + b
    tags: [easy]
"""


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_yaml_suite_loads(tmp_path):
    suite = load_suite(str(write(tmp_path, "s.yaml", GOOD)))
    assert suite.name == "mini"
    assert [t.id for t in suite.tasks] == ["add"]
    assert suite.tasks[0].tags == ("easy",) and suite.tasks[0].entry_point == "add"
    assert len(suite.digest()) == 16


def test_jsonl_suite_loads(tmp_path):
    lines = [
        {"id": "a", "prompt": "p", "tests": "def test_a():\n    assert True\n"},
        {"id": "b", "prompt": "p", "tests": "def test_b():\n    assert True\n"},
    ]
    path = write(tmp_path, "j.jsonl", "\n".join(json.dumps(x) for x in lines) + "\n\n")
    suite = load_suite(str(path))
    assert suite.name == "j" and len(suite.tasks) == 2


def test_limit(tmp_path):
    path = write(tmp_path, "s.yaml", GOOD)
    assert len(load_suite(str(path), limit=1).tasks) == 1


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("name: x\ntasks: []\n", "field 'tasks'"),
        ("tasks: [{id: a}]\n", "field 'name'"),
        ("name: x\ntasks: [{prompt: p}]\n", "task #1: field 'id'"),
        ("name: x\ntasks: [{id: a, tests: 'def test_a(): pass'}]\n", "task 'a': field 'prompt'"),
        ("name: x\ntasks: [{id: a, prompt: p}]\n", "task 'a': field 'tests'"),
        ("name: x\ntasks: [{id: a, prompt: p, tests: 'x = 1'}]\n", "no test_* function"),
        ("name: x\ntasks: [{id: a, prompt: p, tests: 'def test_a(:'}]\n", "not valid Python"),
        (
            "name: x\ntasks: [{id: a, prompt: p, tests: 'def test_a(): pass', colour: red}]\n",
            "'colour'",
        ),
        ("name: x\ntasks: [{id: a, prompt: p, tests: 'def test_a(): pass', tags: 3}]\n", "'tags'"),
        (
            "name: x\ntasks: [{id: a, prompt: p, tests: 'def test_a(): pass', reference: 3}]\n",
            "'reference'",
        ),
        (
            "name: x\ntasks: [{id: a, prompt: p, tests: 'def test_a(): pass', entry_point: 3}]\n",
            "'entry_point'",
        ),
        ("name: [\n", "not valid YAML"),
        ("- 1\n", "must be a mapping"),
        ("name: x\ntasks: [3]\n", "task #1 must be a mapping"),
    ],
)
def test_malformed_suite_names_file_task_and_field(tmp_path, text, fragment):
    path = write(tmp_path, "bad.yaml", text)
    with pytest.raises(SuiteError) as info:
        load_suite(str(path))
    message = str(info.value)
    assert str(path) in message and fragment in message
    assert "\n" not in message
    assert isinstance(info.value, UsageError)


def test_duplicate_ids(tmp_path):
    text = GOOD + GOOD.split("tasks:\n", 1)[1]
    with pytest.raises(SuiteError, match="appears twice"):
        load_suite(str(write(tmp_path, "d.yaml", text)))


def test_bad_jsonl_line(tmp_path):
    with pytest.raises(SuiteError, match="line 1 is not valid JSON"):
        load_suite(str(write(tmp_path, "b.jsonl", "{nope\n")))


def test_unknown_suite_and_extension(tmp_path):
    with pytest.raises(SuiteError, match="neither a built-in"):
        load_suite("no-such-suite")
    with pytest.raises(SuiteError, match="must end in"):
        load_suite(str(write(tmp_path, "s.txt", "x")))


def test_humaneval_suite_has_164_tasks_with_entry_points():
    suite = load_suite("humaneval")
    assert len(suite.tasks) == 164
    first = suite.tasks[0]
    assert first.id == "HumanEval/0" and first.prompt_is_code
    assert first.entry_point == "has_close_elements"
    assert "def test_" in first.tests and first.reference.startswith(first.prompt)


def test_builtin_basic_suite_is_large_enough():
    suite = load_suite("basic")
    assert len(suite.tasks) >= 25
    assert all(t.reference for t in suite.tasks)
