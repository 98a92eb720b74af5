import sys

import pytest

from tasks.quality.static import analyze, module_exists
from tasks.record.results import COLUMN_NAMES


@pytest.mark.parametrize(
    "code",
    ["def (:", "x = 1\x00", "return 1", "\ufeff\ufeff", "if True\n  pass", "((" * 50],
)
def test_unparsable_code_is_reported_not_raised(code):
    report = analyze(code)
    assert report.syntax_valid is False
    assert report.type_hint_ratio == 0.0
    assert report.docstring_ratio == 0.0
    assert report.syntax_error


@pytest.mark.parametrize(
    "code", ["", "   \n", "# just a comment", "(" * 300 + ")" * 300, "x" * 5000]
)
def test_odd_but_valid_inputs_never_raise(code):
    report = analyze(code)
    assert isinstance(report.syntax_valid, bool)


def test_hallucinated_package_is_missing_and_real_ones_resolve():
    code = (
        "import os, json\nimport numpy as np\nimport totally_made_up_pkg.sub\n"
        "from solution import thing\nfrom . import sibling\nfrom yaml import safe_load\n"
        "from fake_helpers_xyz import helper\n"
    )
    report = analyze(code)
    assert report.missing_imports == ("fake_helpers_xyz", "totally_made_up_pkg")
    assert report.imports_resolved is False
    assert analyze("import math\nfrom collections import deque\n").imports_resolved is True


def test_resolution_does_not_import_the_package():
    name = "plotly"
    if name in sys.modules:
        pytest.skip("plotly already imported by another test")
    assert module_exists(name)
    assert name not in sys.modules
    assert not module_exists("no_such_module_for_vivek")


def test_type_hint_ratio_counts_params_and_returns_without_self():
    code = (
        "def f(a: int, b) -> int:\n    return a\n"
        "class C:\n    def m(self, x: int) -> None: ...\n"
        "    @classmethod\n    def k(cls, *args, **kw): ...\n"
    )
    # slots: f(a, b, ret)=3, m(x, ret)=2, k(args, kw, ret)=3 -> annotated a, ret, x, ret = 4
    assert analyze(code).type_hint_ratio == pytest.approx(4 / 8)
    assert analyze("X = 1\n").type_hint_ratio == 1.0
    assert analyze("def f() -> int:\n    return 1\n").type_hint_ratio == 1.0


def test_docstring_ratio_counts_public_functions_and_classes_only():
    code = (
        '"""Module doc, not counted."""\n'
        'def f():\n    """Doc."""\n'
        "def _private():\n    pass\n"
        "class C:\n    def __init__(self):\n        pass\n    def method(self):\n        pass\n"
    )
    # public: f (doc), C (no doc), method (no doc)
    assert analyze(code).docstring_ratio == pytest.approx(1 / 3)
    assert analyze("x = 1\n").docstring_ratio == 1.0


def test_risky_calls_are_found_through_aliases():
    code = (
        "import os\nimport subprocess as sp\nfrom os import system\n"
        "def f(s):\n    eval(s)\n    exec(s)\n    os.system(s)\n    sp.run(s, shell=True)\n"
        "    system(s)\n"
    )
    calls = analyze(code).dangerous_calls
    for expected in ("eval", "exec", "os.system", "subprocess.run", "import subprocess"):
        assert expected in calls
    assert calls.count("os.system") == 2
    assert analyze("def f(x):\n    return abs(x)\n").dangerous_calls == ()


def test_swallowed_exceptions():
    code = (
        "try:\n    x = 1\nexcept:\n    x = 2\n"
        "try:\n    x = 1\nexcept Exception:\n    pass\n"
        "try:\n    x = 1\nexcept ValueError:\n    pass\n"
        "try:\n    x = 1\nexcept Exception as e:\n    raise RuntimeError('x') from e\n"
        "for i in range(2):\n    try:\n        x = 1\n    except BaseException:\n        continue\n"
        "def f():\n    try:\n        return 1\n    except Exception:\n        return None\n"
        "def g():\n    try:\n        return 1\n    except Exception:\n        return []\n"
        "def h():\n    try:\n        return 1\n    except Exception:\n        return dict()\n"
        "def k(x):\n    try:\n        return 1\n    except Exception:\n        return [x]\n"
    )
    assert analyze(code).swallowed_exceptions == 6


def test_prints_globals_and_file_writes():
    code = (
        "import os, shutil\nfrom pathlib import Path\nCOUNT = 0\n"
        "def f(p):\n    global COUNT\n    print(p)\n"
        "    open(p, 'w').write('x')\n    open(p, mode='a')\n    open(p)\n    open(p, 'rb')\n"
        "    Path(p).write_text('x')\n    os.remove(p)\n    shutil.rmtree(p)\n"
        "    items = [1]\n    items.remove(1)\n"
    )
    report = analyze(code)
    assert report.print_calls == 1
    assert report.global_statements == 1
    assert report.file_writes == 5


def test_row_fields_are_result_columns():
    fields = analyze("import nope_pkg_q\n").row_fields()
    assert set(fields) <= set(COLUMN_NAMES)
    assert fields["missing_imports"] == ["nope_pkg_q"]
