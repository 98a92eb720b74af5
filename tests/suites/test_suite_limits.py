"""Suite files are parsed with bounded depth and size (issue 20, item 8).

Each hostile file is generated here; each must give one sentence naming the file
(and the line, where there is one) as a SuiteError, never a RecursionError.
"""

import gzip
import json

import pytest

from tasks.errors import SuiteError
from tasks.suites import formats
from tasks.suites.load import load_suite

GOOD_MBPP = {
    "task_id": 1,
    "text": "Write f.",
    "code": "def f():\n    return 1",
    "test_list": ["assert f() == 1"],
}


def _load_error(path) -> str:
    with pytest.raises(SuiteError) as info:
        load_suite(str(path))
    message = str(info.value)
    assert str(path) in message and "\n" not in message
    return message.replace(str(path), "<file>")  # the test's folder name may hold any word


@pytest.mark.parametrize("opener", ["[", '{"a": '])
def test_a_jsonl_line_nested_200000_deep(tmp_path, opener):
    closer = "]" if opener == "[" else "}"
    deep = opener * 200_000 + "1" + closer * 200_000
    path = tmp_path / "deep.jsonl"
    path.write_text(json.dumps(GOOD_MBPP) + "\n" + deep + "\n")
    message = _load_error(path)
    assert "line 2" in message and "nested" in message


def test_brackets_inside_strings_do_not_count(tmp_path):
    record = dict(GOOD_MBPP, text="[" * 10_000 + "{" * 10_000)
    path = tmp_path / "strings.jsonl"
    path.write_text(json.dumps(record) + "\n")
    assert load_suite(str(path)).tasks[0].prompt.count("[") == 10_000


def test_a_line_at_the_depth_limit_loads_and_one_past_it_does_not(tmp_path):
    limit = formats.MAX_JSON_DEPTH
    ok = dict(GOOD_MBPP, extra=json.loads("[" * (limit - 1) + "]" * (limit - 1)))
    path = tmp_path / "limit.jsonl"
    path.write_text(json.dumps(ok) + "\n")
    assert len(load_suite(str(path)).tasks) == 1
    too_deep = dict(GOOD_MBPP, extra=json.loads("[" * limit + "]" * limit))
    path.write_text(json.dumps(too_deep) + "\n")
    assert "line 1" in _load_error(path)


@pytest.mark.parametrize(
    "body",
    [
        "name: x\ntasks: " + "[" * 200_000 + "]" * 200_000 + "\n",
        "name: x\ntasks:\n" + "".join(" " * i + "- \n" for i in range(3000)),
        "name: x\ntasks: " + "{a: " * 50_000 + "1" + "}" * 50_000 + "\n",
    ],
    ids=["flow-lists", "block-lists", "flow-maps"],
)
def test_a_yaml_suite_nested_too_deep(tmp_path, body):
    path = tmp_path / "deep.yaml"
    path.write_text(body)
    assert "nested" in _load_error(path)


def test_yaml_aliases_cannot_multiply_a_small_file(tmp_path):
    lines = ["name: x", 'a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 8)}]" for i in range(1, 9)]
    lines += ["tasks: *a8"]
    path = tmp_path / "laughs.yaml"
    path.write_text("\n".join(lines) + "\n")
    # Aliases share one object (no expansion), so the file is refused at once.
    assert "task #1 must be a mapping" in _load_error(path)


def test_an_oversized_line_and_file(tmp_path, monkeypatch):
    monkeypatch.setattr(formats, "MAX_LINE_CHARS", 1000)
    path = tmp_path / "long.jsonl"
    path.write_text(json.dumps(GOOD_MBPP) + "\n" + json.dumps(dict(GOOD_MBPP, text="x" * 2000)))
    assert "line 2" in _load_error(path)
    monkeypatch.setattr(formats, "MAX_SUITE_BYTES", 1000)
    path.write_text(json.dumps(dict(GOOD_MBPP, text="x" * 990)) + "\n")
    assert "larger than" in _load_error(path)


def test_a_gzip_bomb_is_cut_at_the_size_limit(tmp_path, monkeypatch):
    monkeypatch.setattr(formats, "MAX_SUITE_BYTES", 10_000)
    path = tmp_path / "bomb.jsonl.gz"
    path.write_bytes(gzip.compress(b" " * 10_000_000))
    assert "larger than" in _load_error(path)


def test_deeply_nested_code_in_a_field(tmp_path):
    """Code that makes the parser recurse is a bad field, not a traceback."""
    code = "x = " + "(" * 100_000 + "1" + ")" * 100_000
    path = tmp_path / "deep.yaml"
    path.write_text(json.dumps({"name": "x", "tasks": [{"id": "a", "prompt": "p", "tests": code}]}))
    assert "field 'tests'" in _load_error(path)
    mbpp = tmp_path / "deep.jsonl"
    mbpp.write_text(json.dumps(dict(GOOD_MBPP, code=code)) + "\n")
    assert "field 'code' is not valid Python" in (load_suite(str(mbpp)).tasks[0].broken or "")
