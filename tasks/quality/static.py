"""Static facts about a candidate module, read from its AST without running it.

Decisions (documented because the score depends on them):

* ``type_hint_ratio``: annotation slots are every parameter (``self``/``cls`` excluded,
  ``*args``/``**kwargs`` included) plus one return per function or method, nested
  ones too. A module without any ``def`` has nothing to annotate and gets 1.0.
* ``docstring_ratio``: public (no leading underscore) functions, methods and classes
  with a docstring over all of them. The module docstring is not counted: a snippet
  that defines one documented function is fully documented. Nothing public -> 1.0.
* A module that does not parse gets ratios of 0.0 and no other findings.
* Imports resolve when the top-level name is stdlib, installed (``find_spec`` on the
  top-level name only, which never imports the package) or local (``solution``).
  Relative imports are local by definition.

:func:`analyze` never raises: any input string gives a report.
"""

from __future__ import annotations

import ast
import importlib.util
import sys
from dataclasses import dataclass

LOCAL_MODULES = frozenset({"solution", "__future__"})

# Calls a reviewer flags as code execution or shelling out.
_DANGEROUS_NAMES = frozenset({"eval", "exec", "compile", "__import__"})
_DANGEROUS_ATTRS = frozenset(
    {
        "os.system",
        "os.popen",
        "os.execv",
        "os.execl",
        "os.spawnl",
        "pickle.loads",
        "marshal.loads",
    }
)
_DANGEROUS_MODULES = frozenset({"subprocess", "pty", "ctypes"})
_WRITE_METHODS = frozenset({"write_text", "write_bytes", "unlink", "rmdir", "mkdir", "touch"})
_FILE_FUNCS = frozenset({"remove", "unlink", "rmdir", "makedirs", "rename", "rmtree"})


@dataclass(frozen=True)
class StaticReport:
    """What the AST says about one module.

    ``dangerous_calls`` names each eval/exec/os.system/subprocess use, one per site;
    ``swallowed_exceptions`` counts bare ``except:`` handlers and ``except Exception:``
    handlers whose body only passes/continues or returns a constant or empty container;
    ``file_writes`` counts opens for writing and filesystem-mutating calls.
    """

    syntax_valid: bool
    imports_resolved: bool = True
    missing_imports: tuple[str, ...] = ()
    type_hint_ratio: float = 0.0
    docstring_ratio: float = 0.0
    functions: int = 0
    dangerous_calls: tuple[str, ...] = ()
    swallowed_exceptions: int = 0
    print_calls: int = 0
    global_statements: int = 0
    file_writes: int = 0
    syntax_error: str = ""

    def row_fields(self) -> dict[str, object]:
        """The columns of ``tasks.record.results`` this report fills."""
        return {
            "syntax_valid": self.syntax_valid,
            "imports_resolved": self.imports_resolved,
            "missing_imports": list(self.missing_imports),
            "type_hint_ratio": self.type_hint_ratio,
            "docstring_ratio": self.docstring_ratio,
        }


def module_exists(name: str) -> bool:
    """True when the top-level module is stdlib, local or installed (never imports it)."""
    if name in LOCAL_MODULES or name in sys.stdlib_module_names or name in sys.builtin_module_names:
        return True
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def analyze(code: str) -> StaticReport:
    """Parse ``code`` and collect the static facts. Never raises."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        # ValueError: null bytes; RecursionError/MemoryError: absurdly nested input.
        return StaticReport(syntax_valid=False, syntax_error=f"{type(exc).__name__}: {exc}")
    try:
        # ``return`` outside a function and similar errors only show up when compiling.
        compile(tree, "solution.py", "exec", dont_inherit=True)
    except (SyntaxError, ValueError) as exc:
        return StaticReport(syntax_valid=False, syntax_error=f"{type(exc).__name__}: {exc}")
    except (RecursionError, MemoryError):
        pass  # too deep for the compiler; Python itself would decide at run time
    try:
        visitor = _Visitor()
        visitor.visit(tree)
    except RecursionError:
        return StaticReport(syntax_valid=True, syntax_error="RecursionError: too deeply nested")
    missing = tuple(sorted(m for m in visitor.imports if not module_exists(m)))
    return StaticReport(
        syntax_valid=True,
        imports_resolved=not missing,
        missing_imports=missing,
        type_hint_ratio=_ratio(visitor.annotated, visitor.slots),
        docstring_ratio=_ratio(visitor.documented, visitor.public),
        functions=visitor.functions,
        dangerous_calls=tuple(visitor.dangerous),
        swallowed_exceptions=visitor.swallowed,
        print_calls=visitor.prints,
        global_statements=visitor.globals,
        file_writes=visitor.writes,
    )


def _ratio(part: int, whole: int) -> float:
    return 1.0 if whole == 0 else part / whole


def _dotted(node: ast.expr) -> str:
    """``os.path.join`` for an attribute chain, ``""`` when it is not one."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return ""


def _is_write_mode(call: ast.Call) -> bool:
    mode: ast.expr | None = call.args[1] if len(call.args) > 1 else None
    for kw in call.keywords:
        if kw.arg == "mode":
            mode = kw.value
    if isinstance(mode, ast.Constant) and isinstance(mode.value, str):
        return any(c in mode.value for c in "wax+")
    return False


def _swallows(handler: ast.ExceptHandler) -> bool:
    broad = handler.type is None or (
        isinstance(handler.type, ast.Name) and handler.type.id in {"Exception", "BaseException"}
    )
    if not broad:
        return False
    if handler.type is None:
        return True  # a bare except also catches KeyboardInterrupt/SystemExit
    for stmt in handler.body:
        if isinstance(stmt, ast.Pass | ast.Continue | ast.Break):
            continue
        if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant):
            continue  # a docstring-like string or ``...``
        if isinstance(stmt, ast.Return) and _is_placeholder(stmt.value):
            continue  # ``return None`` / ``return []``: the error becomes a normal answer
        return False
    return True


def _is_placeholder(value: ast.expr | None) -> bool:
    """None, a constant, or an empty container literal."""
    if value is None or isinstance(value, ast.Constant):
        return True
    if isinstance(value, ast.List | ast.Tuple | ast.Set):
        return not value.elts
    if isinstance(value, ast.Dict):
        return not value.keys
    return (
        isinstance(value, ast.Call)
        and isinstance(value.func, ast.Name)
        and value.func.id in {"list", "dict", "set", "tuple", "str"}
        and not value.args
    )


class _Visitor(ast.NodeVisitor):
    def __init__(self) -> None:
        self.imports: set[str] = set()
        self.slots = self.annotated = 0
        self.public = self.documented = 0
        self.functions = 0
        self.dangerous: list[str] = []
        self.swallowed = self.prints = self.globals = self.writes = 0
        self._aliases: dict[str, str] = {}  # local name -> dotted origin ("run" -> subprocess.run)

    # imports ---------------------------------------------------------------------------
    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            top = alias.name.split(".")[0]
            self.imports.add(top)
            self._aliases[alias.asname or top] = alias.name if alias.asname else top
            if top in _DANGEROUS_MODULES:
                self.dangerous.append(f"import {top}")

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level or not node.module:
            return  # relative import: local
        top = node.module.split(".")[0]
        self.imports.add(top)
        for alias in node.names:
            self._aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"
        if top in _DANGEROUS_MODULES:
            self.dangerous.append(f"from {top} import")

    # definitions -----------------------------------------------------------------------
    def _function(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        self.functions += 1
        args = node.args
        params = [*args.posonlyargs, *args.args, *args.kwonlyargs]
        params += [a for a in (args.vararg, args.kwarg) if a is not None]
        for arg in params:
            if arg.arg in {"self", "cls"}:
                continue
            self.slots += 1
            self.annotated += arg.annotation is not None
        self.slots += 1
        self.annotated += node.returns is not None
        self._documentable(node)
        self.generic_visit(node)

    visit_FunctionDef = _function
    visit_AsyncFunctionDef = _function

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self._documentable(node)
        self.generic_visit(node)

    def _documentable(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> None:
        if node.name.startswith("_"):
            return
        self.public += 1
        self.documented += ast.get_docstring(node) is not None

    # behaviour -------------------------------------------------------------------------
    def visit_Call(self, node: ast.Call) -> None:
        name = _dotted(node.func)
        origin = self._aliases.get(name.split(".")[0], "")
        full = f"{origin}{name[len(name.split('.')[0]) :]}" if origin else name
        # ``Path(p).write_text``: the receiver is a call, so read the method name directly.
        method = node.func.attr if isinstance(node.func, ast.Attribute) else ""
        last = method or name
        top = full.split(".")[0]
        if (
            name in _DANGEROUS_NAMES
            or full in _DANGEROUS_ATTRS
            or (top in _DANGEROUS_MODULES and "." in full)
        ):
            self.dangerous.append(full)
        if name == "print":
            self.prints += 1
        opens = (name == "open" or last == "open") and _is_write_mode(node)
        mutates = (method in _WRITE_METHODS) or (top in {"os", "shutil"} and last in _FILE_FUNCS)
        self.writes += opens or mutates
        self.generic_visit(node)

    def visit_Try(self, node: ast.Try) -> None:
        self.swallowed += sum(_swallows(h) for h in node.handlers)
        self.generic_visit(node)

    visit_TryStar = visit_Try  # type: ignore[assignment]  # the same handlers and body

    def visit_Global(self, node: ast.Global) -> None:
        self.globals += 1

    def visit_Nonlocal(self, node: ast.Nonlocal) -> None:
        self.globals += 1
