"""Untrusted text into Markdown or HTML: the one way a model's, a suite's or a
completion's text (task ids, model and suite names, error messages) reaches what a
person opens: ``report.md``, ``report.html`` and its Plotly labels, Prefect artifacts
and webhook messages.

Both escapers first make the text one visible line: line breaks and tabs become spaces,
and control and bidirectional-override characters (which can reorder what a reader
sees) are shown as ``[U+202E]``. Then:

- :func:`md` leaves nothing a CommonMark or GitHub renderer (Prefect's UI, Slack's
  mrkdwn, markdown-it with linkify) turns into a tag, link, image, code span,
  emphasis, table cell or heading. ``< > &`` become entities (so Slack, which has no
  backslash escapes, is safe too); the other characters that start markup get a
  backslash, and only where they can start it, so ``llamacpp:smollm2`` or ``0.85``
  read as they are.
- :func:`html` escapes ``& < > " '``. Plotly draws its labels and hover texts from a
  small HTML dialect (``<a href>``, ``<b>``, ``<br>``) but shows character references
  as the characters they stand for, so the same function serves plot labels.
"""

from __future__ import annotations

import html as _html
import re
import unicodedata
from typing import Any

# Bidirectional formatting characters: overrides, embeddings, isolates and marks.
_BIDI = frozenset([0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A)])
_LINE_BREAKS = frozenset("\n\r\t\v\f\x85\u2028\u2029")

# A backslash before these wherever they appear: each can open markup anywhere in a line.
_ALWAYS = set("\\`*[]|~$")
# What makes a line a heading, a list item or a thematic break.
_BLOCK_START = re.compile(r"^(?:#|[-+](?=\s|$|-)|\d{1,9}[.)](?=\s|$))")


def plain(text: Any) -> str:
    """One visible line: breaks become spaces, invisible controls are named."""
    out = []
    for ch in str(text):
        if ch in _LINE_BREAKS:
            out.append(" ")
        elif ord(ch) in _BIDI or unicodedata.category(ch) == "Cc":
            out.append(f"[U+{ord(ch):04X}]")
        else:
            out.append(ch)
    return "".join(out)


def md(text: Any) -> str:
    """``text`` as Markdown that renders as exactly that text, in a line or a table cell."""
    s = plain(text).lstrip()  # leading blanks are not shown, and four open a code block
    out = []
    n = len(s)
    for i, ch in enumerate(s):
        before = s[i - 1] if i else ""
        after = s[i + 1] if i + 1 < n else ""
        if ch == "&":
            out.append("&amp;")
        elif ch == "<":
            out.append("&lt;")
        elif ch == ">":
            out.append("&gt;")
        elif ch in _ALWAYS:
            out.append("\\" + ch)
        elif ch == "_":
            # Between two letters or digits an underscore cannot open or close emphasis.
            out.append(ch if before.isalnum() and after.isalnum() else "\\_")
        elif ch == ":" and s.startswith("//", i + 1):
            out.append("\\:")  # no `scheme://` for autolinks
        elif ch == "." and after.isalnum() and not (before.isdigit() and after.isdigit()):
            out.append("\\.")  # no domain (`www.x.com`, `x.com`, `a@b.c`) for linkify
        elif ch == "@" and re.match(r"[\w-]+\.[\w-]", s[i + 1 :]):
            out.append("\\@")  # no e-mail autolink
        else:
            out.append(ch)
    escaped = "".join(out)
    # Headings, lists and thematic breaks start a line: escape the character that marks them.
    start = _BLOCK_START.match(escaped)
    if start:
        end = start.end()
        escaped = f"{escaped[: end - 1]}\\{escaped[end - 1 :]}"
    return escaped


def md_code(text: Any) -> str:
    """``text`` as an inline code span (a path, a command); not for table cells."""
    s = plain(text)
    longest = max((len(run) for run in re.findall(r"`+", s)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if s.startswith("`") or s.endswith("`") or not s.strip() else ""
    return f"{fence}{pad}{s}{pad}{fence}"


def html(text: Any) -> str:
    """``text`` for HTML element content or a quoted attribute, and for Plotly labels.

    Quotes become numeric references: Plotly decodes those but shows ``&quot;`` as is.
    """
    escaped = _html.escape(plain(text), quote=False)
    return escaped.replace('"', "&#34;").replace("'", "&#39;")
