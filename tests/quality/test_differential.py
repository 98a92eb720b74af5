import ast
import random

import pytest

from tasks.quality.differential import compare, declared_atol, derive_calls
from tasks.quality.mutate import fits, mutate

TESTS = """
from solution import add, User
import solution

def test_add():
    assert add(1, 2) == 3
    assert add(-1, 1) == 0
    assert add(a=2.5, b=0.5) == 3.0
    assert solution.add(10, 5) == 15
    assert add(x, 1) == 2  # not literal: ignored

def test_user():
    assert User(1, "a@b.c").id == 1
"""

REFERENCE = "def add(a, b):\n    return a + b\n"
MEMORISER = (
    "def add(a=None, b=None):\n"
    "    known = {(1, 2): 3, (-1, 1): 0, (2.5, 0.5): 3.0, (10, 5): 15}\n"
    "    return known.get((a, b), 0)\n"
)


def run_calls(code: str, calls: tuple[str, ...]) -> tuple[str, ...]:
    """What the sandbox does with extra_calls, in process (trusted code only)."""
    namespace: dict = {}
    exec(code, namespace)
    out = []
    for call in calls:
        try:
            out.append(repr(eval(call, namespace)))
        except Exception as exc:
            out.append(f"!{type(exc).__name__}")
    return tuple(out)


def test_calls_are_new_literal_and_parse():
    calls = derive_calls(TESTS, "add")
    assert 0 < len(calls) <= 60
    assert len(set(calls)) == len(calls)
    visible = {"add(1, 2)", "add(-1, 1)", "add(a=2.5, b=0.5)", "add(10, 5)"}
    assert not visible & set(calls)
    for call in calls:
        node = ast.parse(call, mode="eval").body
        assert isinstance(node, ast.Call) and node.func.id == "add"
        for arg in [*node.args, *(k.value for k in node.keywords)]:
            ast.literal_eval(arg)


def test_calls_are_deterministic_per_seed():
    assert derive_calls(TESTS, "add", seed=3) == derive_calls(TESTS, "add", seed=3)
    assert derive_calls(TESTS, "add", seed=3) != derive_calls(TESTS, "add", seed=4)


def test_every_visible_call_contributes_and_max_is_kept():
    calls = derive_calls(TESTS, "add", max_calls=4)
    assert len(calls) == 4
    assert any("a=" in c for c in calls)  # the keyword call was mutated too


def test_without_entry_point_the_imported_functions_are_used_and_classes_skipped():
    calls = derive_calls(TESTS, None)
    assert calls and all(c.startswith("add(") for c in calls)


def test_no_calls_when_nothing_literal_or_unparsable():
    assert derive_calls("from solution import f\ndef test():\n    assert f(x)\n", "f") == ()
    assert derive_calls("def (:", "f") == ()
    assert derive_calls("def test():\n    assert g(1)\n", "f") == ()


def test_mutations_cover_each_type():
    tests = (
        "from solution import f\n"
        "def test():\n"
        "    f('abc', [3, 1, 2], {'k': 1}, (1, 2), True, {1, 2}, None, [1, 'a'])\n"
        "    f('', [], {}, (), False, set(), None, [])\n"
    )
    calls = derive_calls(tests, "f", max_calls=400)
    joined = "\n".join(calls)
    for fragment in ("f(''", "'cba'", "[1, 2, 3]", "{}", "(2,)", "False", "set()"):
        assert fragment in joined


def test_a_memoised_solution_is_caught():
    calls = derive_calls(TESTS, "add")
    ref = run_calls(REFERENCE, calls)
    assert compare(ref, run_calls(REFERENCE, calls)) == (len(calls) - ref.count("!"), len(calls))
    passed, total = compare(ref, run_calls(MEMORISER, calls))
    assert total > 0 and passed / total < 0.5


def test_compare_drops_reference_errors_and_tolerates_floats():
    ref = ["3", "!TypeError", "0.30000000000000004", "[1.0, (2, 'x')]", "{1, 2}", "'a'", "1"]
    cand = ["3", "5", "0.3", "[1.0000000001, (2, 'x')]", "{2, 1}", "'b'", "True"]
    assert compare(ref, cand) == (4, 6)


def test_compare_counts_missing_or_raising_candidate_outputs_as_failures():
    assert compare(["1", "2", "3"], ["1", "!ValueError"]) == (1, 3)
    assert compare(["!E"], []) == (0, 0)
    assert compare(["1.5", "{'a': 1.0}", "nan"], ["'1.5'", "{'a': 1.0000000001}", "nan"]) == (2, 3)
    assert compare(["float('nan')"], ["float('nan')"]) == (1, 1)


# -- the entry point under any name the tests use (issue 11, point 4) -----------------

HUMANEVAL_TESTS = """
from solution import *
from solution import add

def check(candidate):
    assert candidate(2, 3) == 5
    assert candidate(x=7, y=1) == 8
    assert abs(candidate(1.5, 2.0) - 3.5) < 1e-6

def test_check():
    check(add)
"""


def test_calls_through_a_parameter_name_reach_the_entry_point():
    calls = derive_calls(HUMANEVAL_TESTS, "add")
    assert len(calls) >= 5
    assert all(c.startswith("add(") for c in calls)
    assert not any(c.startswith("candidate(") for c in calls)


def test_keyword_parameter_alias_and_mbpp_asserts():
    keyword = HUMANEVAL_TESTS.replace("check(add)", "check(candidate=add)")
    assert derive_calls(keyword, "add")
    mbpp = "from solution import *\n\ndef test_a():\n    assert remove_odd([1, 2, 3]) == [2]\n"
    calls = derive_calls(mbpp, "remove_odd")
    assert calls and all(c.startswith("remove_odd([") for c in calls)


def test_typed_inputs_when_the_tests_show_no_literal_call():
    tests = (
        "from solution import decode\nimport random\n\ndef test_d():\n"
        "    s = ''.join(random.choice('ab') for _ in range(5))\n    assert decode(s) == s\n"
    )
    assert derive_calls(tests, "decode") == ()
    reference = (
        "from typing import List\n\ndef decode(s: str, n: List[int]) -> str:\n    return s\n"
    )
    calls = derive_calls(tests, "decode", reference=reference)
    assert len(calls) == 60
    for call in calls:
        node = ast.parse(call, mode="eval").body
        s, n = (ast.literal_eval(a) for a in node.args)
        assert isinstance(s, str) and isinstance(n, list) and all(type(x) is int for x in n)
    untyped = "def decode(s, n):\n    return s\n"
    assert derive_calls(tests, "decode", reference=untyped) == ()


def test_equal_arguments_are_tried():
    tests = "from solution import eat\n\ndef test_e():\n    assert eat(5, 6, 10) == [11, 4]\n"
    assert {"eat(6, 6, 10)", "eat(5, 10, 10)"} & set(derive_calls(tests, "eat", max_calls=60))


def test_reference_constants_are_tried_as_boundaries():
    tests = "from solution import grade\n\ndef test_g():\n    assert grade(3.5) == 'A'\n"
    reference = "def grade(g):\n    return 'A' if g > 2.7 else 'B'\n"
    assert "grade(2.7)" in derive_calls(tests, "grade", max_calls=60, reference=reference)


# -- inputs stay inside what the visible tests show ------------------------------------


@pytest.mark.parametrize(
    ("value", "seen", "ok"),
    [
        (0, [1, 5, 9], False),  # every visible int is positive
        (-1, [0, 3], False),
        (4, [1, 5, 9], True),
        (-3, [-2, 3], True),
        (5, [1, 3], False),  # at most one above the largest
        ("abc", ["cab", "bb"], True),
        ("abd", ["cab", "bb"], False),  # a character the tests never use
        ("", ["ab"], False),  # empty only when a visible one is empty
        ("", ["ab", ""], True),
        ([3, 1], [[1, 2, 3], [4, 5]], False),  # every visible list is sorted
        ([1, 3], [[1, 2, 3], [4, 5]], True),
        ([1, 1, 2], [[1, 2, 3], [2, 4, 5]], False),  # every visible list is distinct
        ([], [[1]], False),
        ([2.5], [[1.0, 2.0]], True),
        ("1", [1], False),  # types never change
        (")(", ["(())", "()"], False),  # every visible string is balanced
        ("()(", ["(()", "()"], True),
        ("6 apples and 0 pears", ["5 apples and 6 pears", "0 apples and 1 pears"], True),
        ("6 apples 0 and pears", ["5 apples and 6 pears", "0 apples and 1 pears"], False),
        ((2, 5), [(1, 2), (-3, 4)], True),
        ((1, 2, 3), [(1, 2), (-3, 4)], False),  # every visible tuple is a pair: a record
        ((1,), [(1, 2), (-3, 4)], False),
        ((1,), [(1, 2), (-3, 4, 5)], True),
    ],
)
def test_fits_keeps_the_visible_preconditions(value, seen, ok):
    assert fits(value, seen) is ok


def test_mutants_of_a_value_fit_what_was_seen():
    rng = random.Random(0)
    seen = ["(()())", "()", "((()))"]
    for value in seen:
        for m in mutate(value, seen, rng):
            assert set(m) <= {"(", ")"} and m


def test_edge_cases_come_first_and_alternate_with_the_others():
    values = mutate(7, [1, 9], random.Random(0))
    edges = {8, 6, 0, 1, -1, 2, 3, 4, 9, 10}
    assert values[0] in edges and values[2] in edges
    assert {1, 2, 3, 8, 6, 10} <= set(values)


@pytest.mark.parametrize("seed", range(5))
def test_sequence_edges_single_element_rotations_and_the_reference_constants(seed):
    seen = [[3.5, 1.0, 2.0, 0.5], [1.2]]
    values = mutate(seen[0], seen, random.Random(seed), hints=(4.0, 3.7, 2.7, 0.0))
    assert [3.5] in values and [0.5] in values  # one element
    assert [1.0, 2.0, 0.5, 3.5] in values and [0.5, 3.5, 1.0, 2.0] in values  # rotated by one
    assert [2.0, 0.5, 3.5, 1.0] in values  # rotated further: another pair in front
    assert [4.0, 3.7, 2.7, 0.0] in values  # a grade at each boundary


@pytest.mark.parametrize("seed", range(5))
def test_text_edges_move_each_number_and_reorder_words(seed):
    dates = ["01-01-2007", "03-11-2000"]
    values = mutate(dates[0], dates, random.Random(seed), hints=(2, 13))
    assert {"02-01-2007", "00-01-2007", "01-00-2007", "01-02-2007"} <= set(values)
    assert {"13-01-2007", "01-13-2007", "01-01-0013"} <= set(values)  # the reference's constants
    assert "01-01-2008" not in values  # "8" is not in the visible alphabet
    words = ["three five nine", "six five four"]
    values = mutate(words[0], words, random.Random(seed))
    assert {"nine five three", "five three nine", "three five", "t"} <= set(values)
    assert all(set(v) <= set("".join(words)) for v in values)


# -- declared extra inputs (EvalPlus's plus_input) -------------------------------------


def test_declared_extra_inputs_are_used_as_they_are():
    tests = (
        "from solution import add\nEXTRA_INPUTS = [[1, 2], [3, 4], [1, 2]]\nEXTRA_ATOL = 1e-3\n"
        "def test_a():\n    assert add(0, 0) == 0\n"
    )
    assert derive_calls(tests, "add") == ("add(1, 2)", "add(3, 4)")
    assert declared_atol(tests) == 1e-3
    assert declared_atol(TESTS) == 0.0
    assert compare(["1.0"], ["1.0005"], atol=1e-3) == (1, 1)
    assert compare(["1.0"], ["1.0005"]) == (0, 1)


def test_a_capitalised_entry_point_is_still_the_function_under_test():
    tests = HUMANEVAL_TESTS.replace("add", "Strongest_Extension")
    calls = derive_calls(tests, "Strongest_Extension")
    assert calls and all(c.startswith("Strongest_Extension(") for c in calls)


def test_a_class_entry_point_gets_no_differential_calls():
    """A constructor returns an object: its repr is an address, nothing plain to compare."""
    tests = "from solution import User\n\ndef test_u():\n    assert User(1, 'a@b.c').id == 1\n"
    reference = "class User:\n    def __init__(self, id, email):\n        self.id = id\n"
    assert derive_calls(tests, "User", reference=reference) == ()
    assert derive_calls(tests, "User") != ()  # without the reference it cannot know


@pytest.mark.parametrize(
    ("annotation", "check"),
    [
        ("Dict[str, int]", lambda v: all(type(k) is str and type(x) is int for k, x in v.items())),
        ("Tuple[int, str]", lambda v: type(v[0]) is int and type(v[1]) is str and len(v) == 2),
        ("tuple[float, ...]", lambda v: all(type(x) is float for x in v)),
        ("list[list[int]]", lambda v: all(type(x) is int for row in v for x in row)),
        ("'List[bool]'", lambda v: all(type(x) is bool for x in v)),
    ],
)
def test_typed_arguments_follow_the_annotation(annotation, check):
    from tasks.quality.typed_inputs import typed_arguments

    reference = f"from typing import *\n\ndef f(x: {annotation}):\n    return x\n"
    args = typed_arguments(reference, "f", random.Random(0), 5)
    assert len(args) == 5 and all(check(a[0]) for a in args)


@pytest.mark.parametrize("signature", ["x: Optional[int]", "x", "*xs: int", "x: MyClass"])
def test_no_typed_arguments_without_a_usable_annotation(signature):
    from tasks.quality.typed_inputs import typed_arguments

    reference = f"def f({signature}):\n    return 1\n"
    assert typed_arguments(reference, "f", random.Random(0), 5) == []


def test_reference_outputs_showing_an_address_are_not_compared():
    ref = ["<solution.User object at 0x7f3a2c>", "User(id=1)", "[<function f at 0x1>]"]
    cand = ["<solution.User object at 0x7f9b10>", "User(id=1)", "[<function f at 0x2>]"]
    assert compare(ref, cand) == (1, 1)
