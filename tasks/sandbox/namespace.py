"""What the tests may see of a solution, built from the task alone (``Exports``).

A solution used to reach the tests through ``from solution import *``: every public name
it defined (``abs``, ``all``, ``isinstance``...) replaced the tests' own. Now the tests
see only what the task defines:

* the entry point, and any name the tests import from ``solution`` by name (the suite
  asked for it, even if it is named like a builtin: an MBPP task may test ``sum``);
* names the task's own code defines (the prompt when it is code, and the reference)
  that the tests use, as proxies to the solution's versions (HumanEval/38's tests call
  the prompt's ``encode_cyclic``);
* names the task's code imports (``math``, ``List``) that the tests use, bound to the
  tester's own imports;

never a name that shadows a builtin unless the suite names it. Classes among the bound
names (classes of the task's code, or without it CapWords names the tests import) are
the only ones whose instances may stay behind handles.
"""

from __future__ import annotations

import ast
import builtins
import functools

from tasks.sandbox.types import Exports


def _parse(source: str | None) -> ast.Module | None:
    if not source:
        return None
    try:
        return ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def _defined(tree: ast.Module | None) -> tuple[dict[str, bool], dict[str, tuple]]:
    """Top-level names a module defines (name -> is a class) and imports (name -> source)."""
    defs: dict[str, bool] = {}
    imports: dict[str, tuple[str, str | None]] = {}
    for node in tree.body if tree else []:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            defs[node.name] = False
        elif isinstance(node, ast.ClassDef):
            defs[node.name] = True
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if isinstance(target, ast.Name):
                    defs[target.id] = False
        elif isinstance(node, ast.Import):
            for alias in node.names:
                top = alias.name.split(".")[0]
                name = alias.asname or top
                imports[name] = (alias.name if alias.asname else top, None)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                if alias.name != "*":
                    imports[alias.asname or alias.name] = (node.module, alias.name)
    return defs, imports


def _used_by_tests(tree: ast.Module) -> tuple[set[str], list[str]]:
    """Names the tests load anywhere, and names they import from ``solution`` by name."""
    used: set[str] = set()
    named: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            used.add(node.id)
        elif isinstance(node, ast.ImportFrom) and node.module == "solution":
            named += [a.name for a in node.names if a.name != "*"]
        elif (
            isinstance(node, ast.Attribute)
            and isinstance(node.ctx, ast.Load)
            and isinstance(node.value, ast.Name)
            and node.value.id == "solution"
        ):
            named.append(node.attr)
    return used, named


@functools.lru_cache(maxsize=1024)  # a task's samples share one answer
def exports_for(
    tests: str | None,
    entry_point: str | None,
    reference: str | None,
    prompt: str | None = None,
    prompt_is_code: bool = False,
) -> Exports:
    """The names a task's tests may see of the solution (see the module docstring)."""
    test_tree = _parse(tests)
    if test_tree is None:
        return Exports(bind=(entry_point,) if entry_point else ())
    used, named = _used_by_tests(test_tree)
    defs: dict[str, bool] = {}
    imports: dict[str, tuple] = {}
    for source in (reference, prompt if prompt_is_code else None):
        d, i = _defined(_parse(source))
        defs.update(d)
        imports.update(i)
    wanted = [entry_point] if entry_point else []
    wanted += named
    wanted += sorted(n for n in defs if n in used and not hasattr(builtins, n))
    bind = tuple(dict.fromkeys(n for n in wanted if n.isidentifier() and not n.startswith("__")))
    from_imports = tuple(
        (name, *imports[name])
        for name in sorted(imports)
        if name in used and name not in bind and not hasattr(builtins, name)
    )
    # A class the task's code does not define (no reference) is known by the suite's
    # naming only: a CapWords name the tests import by name.
    classes = tuple(
        n for n in bind if defs.get(n) or (n not in defs and n in named and n[:1].isupper())
    )
    return Exports(bind=bind, classes=classes, imports=from_imports)
