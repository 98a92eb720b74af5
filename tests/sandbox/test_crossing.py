"""What crosses between the test process and the solution process, end to end."""

from __future__ import annotations

import pytest

from tasks.sandbox import Job, exports_for
from tests.sandbox.conftest import needs_bwrap

pytestmark = [pytest.mark.sandbox, needs_bwrap]

STACK = """
class Stack:
    def __init__(self, items=()):
        self._items = list(items)
    def push(self, x):
        self._items.append(x)
        return self
    def pop(self):
        if not self._items:
            raise IndexError("pop from an empty stack")
        return self._items.pop()
    def __len__(self):
        return len(self._items)
    def __iter__(self):
        return iter(self._items)
    def __contains__(self, x):
        return x in self._items
    def __eq__(self, other):
        return isinstance(other, Stack) and other._items == self._items
    __hash__ = None

def size(stack):
    return len(stack)
"""
STACK_TESTS = """
import pytest
from solution import Stack, size

def test_handles():
    s = Stack([1])
    assert isinstance(s, Stack) and not isinstance(5, Stack)
    assert s.push(2) is s
    assert len(s) == 2 and size(s) == 2 and list(s) == [1, 2] and 2 in s and 9 not in s
    assert s.pop() == 2 and s._items == [1]
    assert Stack([1]) == Stack([1]) and Stack([1]) != Stack([2])
    assert s != [1] and s != 1  # a solution object never equals plain data
    with pytest.raises(IndexError, match="empty"):
        Stack().pop()
"""
CASES = {
    "custom_exception": (
        "class BadInput(ValueError):\n    pass\n\ndef f(x):\n    raise BadInput(f'bad {x}')\n",
        "import pytest\nfrom solution import f, BadInput\n\ndef test_f():\n"
        "    with pytest.raises(ValueError, match='bad 1'):\n        f(1)\n"
        "    with pytest.raises(BadInput):\n        f(2)\n",
        "pass",
    ),
    "mutation_written_back": (
        "def push(lst, x):\n    lst.append(x)\n\ndef keys(d):\n    d['k'] = 1\n    return d\n",
        "from solution import push, keys\n\ndef test_f():\n    data = [1]\n"
        "    assert push(data, 2) is None and data == [1, 2]\n"
        "    d = {}\n    assert keys(d) is d and d == {'k': 1}\n",
        "pass",
    ),
    "mutation_caught": (
        "def sort_numbers(xs):\n    xs.sort()\n    return xs\n",
        "from solution import sort_numbers\n\ndef test_f():\n    data = [3, 1]\n"
        "    assert sort_numbers(data) == [1, 3]\n    assert data == [3, 1]\n",
        "fail",
    ),
    "callbacks_and_generators": (
        "def apply(fn, xs, key=None):\n    return sorted((fn(x) for x in xs), key=key)\n",
        "from solution import apply\n\ndef test_f():\n"
        "    assert apply(lambda x: x * 2, (i for i in range(3))) == [0, 2, 4]\n"
        "    assert apply(str, [3, 10], key=len) == ['3', '10']\n",
        "pass",
    ),
    "stdlib_and_numpy_results": (
        "import collections, enum\nimport numpy as np\n\nclass C(enum.IntEnum):\n    A = 3\n\n"
        "def f():\n    return collections.Counter('aab'), collections.OrderedDict(a=1), "
        "np.float64(0.5), C.A\n",
        "from solution import f\n\ndef test_f():\n    c, o, x, e = f()\n"
        "    assert c == {'a': 2, 'b': 1} and o == {'a': 1} and x == 0.5 and type(x) is float\n"
        "    assert e == 3 and type(e) is int\n",
        "pass",
    ),
    "star_import_and_constants": (
        "__all__ = ['f', 'LIMIT']\nLIMIT = 5\n\ndef f():\n    return LIMIT\n\n"
        "def _g():\n    return 7\n",
        "from solution import *\nimport solution\n\ndef test_f():\n"
        "    assert f() == LIMIT == 5 and solution._g() == 7\n",
        "pass",
    ),
    "async_tests_run": (
        "def f():\n    return 1\n\nasync def g():\n    return 2\n",
        "from solution import f, g\n\nasync def test_f():\n    assert f() == 1\n\n"
        "async def test_g():\n    assert await g() == 2\n\nasync def test_fails():\n"
        "    assert f() == 2\n",
        "fail",
    ),
    "missing_name": (
        "def g():\n    return 1\n",
        "from solution import f\n\ndef test_f():\n    f()\n",
        "error",
    ),
    "stack": (STACK, STACK_TESTS, "pass"),
}


def task_job(code: str, tests: str, **kw) -> Job:
    """The job for ``code`` as the task's own reference would define it (its names)."""
    return Job(code=code, tests=tests, exports=exports_for(tests, None, code), **kw)


@pytest.mark.parametrize("case", list(CASES))
def test_crossing(sandbox, case):
    code, tests, status = CASES[case]
    r = sandbox.run([task_job(code, tests)])[0]
    assert r.status == status, r
    if case == "async_tests_run":
        assert (r.tests_total, r.tests_passed) == (3, 2)
    if case == "missing_name":
        assert "cannot import name 'f'" in r.error


def test_differential_calls_cross_as_data_only(sandbox):
    calls = ("f(2)", "size([1, 2])", "nope(1)", "_private(3)", "Stack([1])", "g(3)")
    code = STACK + (
        "\ndef f(x):\n    return [x, (x,), {x}]\n\ndef _private(x):\n    return -x\n"
        "\ndef g(n):\n    return (i * i for i in range(n))\n"
    )
    r = sandbox.run([task_job(code, STACK_TESTS, calls=calls)])[0]
    assert r.status == "pass"
    assert r.call_outputs[:4] == ("[2, (2,), {2}]", "2", "!AttributeError", "-3")
    assert r.call_outputs[4] == "!refused"  # an object is never an output: data only
    assert r.call_outputs[5] == "<list_iterator object>"[:0] or "iterator" in r.call_outputs[5]


def test_self_reported_figures_and_memory(sandbox):
    r = sandbox.run([Job(code="def f():\n    return 1\n", tests=STACK_TESTS.replace(
        "from solution import Stack, size", "from solution import f").split("def test")[0]
        + "def test_f():\n    assert f() == 1\n")])[0]  # fmt: skip
    assert r.status == "pass" and r.coverage == 1.0
    assert r.details["self_reported"] == ["coverage"]
    assert r.execution_time_ms > 0  # measured by the worker, outside the solution
    assert 0 <= r.peak_memory_mb < 16  # the growth over the worker, not the whole process
    big = "def f():\n    global KEEP\n    KEEP = bytearray(64 * 2**20)\n    return 1\n"
    r = sandbox.run([Job(code=big, tests="from solution import f\n\ndef test_f():\n"
                         "    assert f() == 1\n")])[0]  # fmt: skip
    assert r.status == "pass" and r.peak_memory_mb >= 60


@pytest.mark.parametrize(
    ("tests", "status"),
    [
        ("def test_a():\n    while True:\n        pass\n", "timeout"),
        ("import os\n\ndef test_a():\n    os._exit(0)\n", "error"),
        ("import os, signal\n\ndef test_a():\n    os.kill(os.getpid(), signal.SIGKILL)\n", "error"),
    ],
)
def test_a_tester_lost_to_its_tests_is_replaced(sandbox, tests, status):
    r = sandbox.run([Job(code="x = 1\n", tests=tests)])[0]
    assert r.status == status, r
    after = sandbox.run([Job(code="def f():\n    return 1\n", tests=ONE_TEST)] * 3)
    assert [a.status for a in after] == ["pass"] * 3


ONE_TEST = "from solution import f\n\ndef test_f():\n    assert f() == 1\n"


def test_the_tester_keeps_nothing_from_one_sample_to_the_next(sandbox):
    first = "import solution\n\ndef test_f():\n    solution.SEEN = 1\n"
    second = "import solution\n\ndef test_f():\n    assert not hasattr(solution, 'SEEN')\n"
    code = "def f():\n    return 1\n"
    results = sandbox.run([Job(code=code, tests=first), Job(code=code, tests=second)])
    assert [r.status for r in results] == ["pass", "pass"]
