import ast

from tasks.quality.differential import compare, derive_calls

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
    assert 0 < len(calls) <= 20
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
    )
    calls = derive_calls(tests, "f", max_calls=200)
    joined = "\n".join(calls)
    for fragment in ("f(''", "'cba'", "[1, 2, 3]", "{}", "(2, 1)", "False", "set()"):
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
