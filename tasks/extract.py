"""Pull Python code out of a chat reply.

Replies come as one fenced block, several blocks, prose around code, or bare
code. We prefer fenced Python blocks; among several we join the ones that parse
(models often split a module into "implementation" and "usage"), dropping
blocks that only exercise the code (``if __name__ == "__main__"``-style demos
are kept: they are harmless at import). Without fences we keep the longest run
of lines that parses.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

_FENCE = re.compile(
    r"(?P<fence>```|~~~)[ \t]*(?P<lang>[\w+.-]*)[^\n]*\n(?P<body>.*?)(?:\n[ \t]*(?P=fence)|\Z)",
    re.DOTALL,
)
_PY_LANGS = {"", "python", "py", "python3", "py3"}
_CODE_START = re.compile(
    r"^(?:def |class |import |from \S+ import |async def |@"
    r"|[A-Za-z_][\w.]*\s*(?::[^=]+)?=[^=]"
    r"|if |for |while |try:|with |return |print\()"
)


def _parses(code: str) -> bool:
    try:
        ast.parse(code)
    except (SyntaxError, ValueError):
        return False
    return True


def _looks_like_code(code: str) -> bool:
    return any(_CODE_START.match(line.strip()) for line in code.splitlines())


def extract_code(reply: str) -> str:
    """Return the Python code in ``reply``, or ``""`` when there is none."""
    if not reply or not reply.strip():
        return ""
    blocks = [
        m.group("body").strip("\n")
        for m in _FENCE.finditer(reply)
        if m.group("lang").lower() in _PY_LANGS
    ]
    blocks = [b for b in blocks if b.strip()]
    if blocks:
        parsing = [b for b in blocks if _parses(b)]
        if parsing:
            return "\n\n".join(parsing).strip() + "\n"
        # No block parses: return the longest, so the row says syntax_error, not no_code.
        return max(blocks, key=len).strip() + "\n"
    return _bare_code(reply)


def _bare_code(reply: str) -> str:
    if _parses(reply) and _looks_like_code(reply):
        return reply.strip() + "\n"
    # Prose around code: find the longest contiguous run of lines that parses and looks like code.
    lines = reply.splitlines()
    best = ""
    starts = [i for i, line in enumerate(lines) if _CODE_START.match(line)]
    for start in starts:
        for end in range(len(lines), start, -1):
            chunk = "\n".join(lines[start:end]).strip()
            if len(chunk) <= len(best):
                break
            if _parses(chunk) and _looks_like_code(chunk):
                best = chunk
                break
    return best + "\n" if best else ""


def complete_with_prompt(code: str, prompt: str, entry_point: str | None) -> str:
    """HumanEval-style tasks: a reply that lacks the entry point's ``def`` is a continuation.

    Chat models usually repeat the whole function; base models continue the
    prompt. When the entry point is not defined in the reply, prepend the prompt.
    """
    if not entry_point:
        return code
    if re.search(rf"^\s*(?:async\s+)?def\s+{re.escape(entry_point)}\s*\(", code, re.MULTILINE):
        return code
    return prompt + code


@dataclass(frozen=True)
class Assembly:
    """The program checked for one reply, and how it was put together.

    ``path`` is one of ``prompt+completion``, ``reply``, ``reply+prompt_context``,
    ``fence_rescued`` or ``none`` (no code).
    """

    code: str
    path: str


def assemble(
    completion: str, prompt: str, entry_point: str | None, prompt_is_code: bool
) -> Assembly:
    """The program for a task: chat replies are extracted; continuations follow the prompt."""
    code = extract_code(completion)
    if not prompt_is_code:
        return Assembly(code, "reply" if code else "none")
    if "```" not in completion and completion.strip():
        continuation = prompt + completion
        if _parses(continuation) and not (code and _defines(code, entry_point)):
            program = continuation if continuation.endswith("\n") else continuation + "\n"
            return Assembly(program, "prompt+completion")
    if not code:
        return Assembly("", "none")
    full = complete_with_prompt(code, prompt, entry_point)
    return Assembly(full, "reply" if full == code else "prompt+completion")


def extract_for_task(
    completion: str, prompt: str, entry_point: str | None, prompt_is_code: bool
) -> str:
    """Code for a task: chat replies are extracted; raw continuations are appended to the prompt."""
    return assemble(completion, prompt, entry_point, prompt_is_code).code


def _defines(code: str, entry_point: str | None) -> bool:
    if not entry_point:
        return True
    return bool(re.search(rf"^\s*(?:async\s+)?def\s+{re.escape(entry_point)}\s*\(", code, re.M))
