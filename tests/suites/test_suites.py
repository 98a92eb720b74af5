import gzip
import json
import tomllib
from pathlib import Path

import pytest

from tasks.errors import SuiteError, UsageError
from tasks.quality.differential import declared_atol, derive_calls
from tasks.suites import load as suites_module
from tasks.suites.load import load_suite

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


# -- MBPP and EvalPlus JSONL (issue 11, point 5) ----------------------------------------

DATA = Path(__file__).parents[1] / "data"


def test_mbpp_jsonl_loads_as_tasks():
    suite = load_suite(str(DATA / "mbpp_slice.jsonl"))
    assert suite.name == "mbpp_slice" and len(suite.tasks) == 10
    by_id = {t.id: t for t in suite.tasks}
    shared = by_id["mbpp/902"]
    assert shared.entry_point == "shared_items"  # found inside set(...), a builtin
    assert not shared.prompt_is_code and "assert set(shared_items(" in shared.prompt
    assert shared.reference.startswith("def shared_items")
    assert "(1,), (1,)" not in shared.tests  # challenge tests are not run
    circle = by_id["mbpp/904"]
    assert circle.tests.startswith("import math\nfrom solution import *\n")
    for task in suite.tasks:
        compile(task.tests, task.id, "exec")
        assert task.tests.count("\ndef test_") == task.prompt.count("assert ")


def test_evalplus_jsonl_loads_with_declared_extra_inputs():
    suite = load_suite(str(DATA / "humanevalplus_slice.jsonl"))
    running = suite.tasks[0]
    assert running.id == "HumanEval/900" and running.prompt_is_code
    assert (
        running.reference
        == running.prompt
        + "    out, total = [], 0\n"
        + (running.reference.split("out, total = [], 0\n", 1)[1])
    )
    assert running.tests.count("\ndef test_base_") == 3
    assert derive_calls(running.tests, "running_sum") == (
        "running_sum([0])",
        "running_sum([-1, -2])",
        "running_sum([10, 20, 30, 40])",
    )
    assert declared_atol(suite.tasks[1].tests) == 1e-6
    plus = load_suite(str(DATA / "mbppplus_slice.jsonl"))
    assert [t.prompt_is_code for t in plus.tasks] == [False, False]
    assert plus.tasks[1].entry_point == "hypot2"


def test_gzipped_jsonl_and_the_evalplus_cache(tmp_path, monkeypatch):
    gz = tmp_path / "mbpp.jsonl.gz"
    gz.write_bytes(gzip.compress((DATA / "mbpp_slice.jsonl").read_bytes()))
    assert len(load_suite(str(gz)).tasks) == 10
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    with pytest.raises(SuiteError, match=r"HumanEvalPlus-v\*\.jsonl in .*evalplus"):
        load_suite("humaneval+")
    cache = tmp_path / "evalplus"
    cache.mkdir()
    slice_bytes = (DATA / "humanevalplus_slice.jsonl").read_bytes()
    (cache / "HumanEvalPlus-v0.1.10.jsonl").write_bytes(slice_bytes)
    (cache / "HumanEvalPlus-v0.1.9.jsonl").write_text("not json\n")  # older: not read
    (cache / "HumanEvalPlus-Mini-v0.1.10.jsonl").write_text("not json\n")  # a variant
    assert len(load_suite("humaneval+", limit=2).tasks) == 2


def _mbpp_record(**changes):
    record = json.loads((DATA / "mbpp_slice.jsonl").read_text().splitlines()[0])
    record.update(changes)
    return {k: v for k, v in record.items() if v is not None}


def _evalplus_record(**changes):
    record = json.loads((DATA / "humanevalplus_slice.jsonl").read_text().splitlines()[0])
    record.update(changes)
    return {k: v for k, v in record.items() if v is not None}


@pytest.mark.parametrize(
    ("record", "fragment"),
    [
        (_mbpp_record(task_id=None), "field 'task_id' is missing"),
        (_mbpp_record(task_id=1.5), "field 'task_id' must be of type int or str"),
        (_evalplus_record(entry_point="nope"), "field 'entry_point' names no function"),
        (_evalplus_record(base_input=[]), "field 'base_input' must hold at least one"),
        (_evalplus_record(plus_input=[3]), "field 'plus_input' must be a list of argument"),
        (_evalplus_record(atol=-1), "field 'atol' must be a non-negative number"),
        (_evalplus_record(atol="0"), "field 'atol' must be of type int or float"),
        (_evalplus_record(canonical_solution="    return (\n"), "'canonical_solution' is not"),
    ],
)
def test_malformed_benchmark_line_names_file_line_and_field(tmp_path, record, fragment):
    good = (DATA / "mbpp_slice.jsonl").read_text().splitlines()[1]
    if "base_input" in record or "canonical_solution" in record:
        good = (DATA / "humanevalplus_slice.jsonl").read_text().splitlines()[1]
    path = write(tmp_path, "bench.jsonl", good + "\n\n" + json.dumps(record) + "\n")
    with pytest.raises(SuiteError) as info:
        load_suite(str(path))
    message = str(info.value)
    assert message.startswith(f"{path}: line 3") and fragment in message, message
    assert "\n" not in message and isinstance(info.value, UsageError)


def test_a_line_that_is_not_an_object(tmp_path):
    good = (DATA / "mbpp_slice.jsonl").read_text().splitlines()[0]
    path = write(tmp_path, "bench.jsonl", good + "\n[1, 2]\n")
    with pytest.raises(SuiteError, match=r"line 2 must be a JSON object"):
        load_suite(str(path))


def test_builtin_suites_ship_inside_the_wheel():
    pyproject = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())
    wheel = pyproject["tool"]["hatch"]["build"]["targets"]["wheel"]
    assert wheel["force-include"]["data/suites"] == "tasks/builtin_suites"
    assert (suites_module.SUITES_DIR / "basic.yaml").is_file()
