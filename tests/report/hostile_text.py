"""Hostile text and the parsers that tell markup from text (test helper).

``HOSTILE`` generates strings mixing what renderers turn into markup (HTML tags,
Markdown links and images, backticks, pipes, newlines, bidi controls, autolink bait)
with arbitrary text. ``markdown_shape`` and ``html_shape`` reduce a document to the
markup a parser finds in it, so two renders that differ only in their names can be
compared: any difference is markup that came from a name.
"""

from __future__ import annotations

import re
from collections import Counter
from html.parser import HTMLParser

from hypothesis import strategies as st
from markdown_it import MarkdownIt

FRAGMENTS = (
    "<b>",
    "</b>",
    "<img src=x onerror=alert(1)>",
    '<a href="http://evil.example/a">x</a>',
    "</script><script>alert(1)</script>",
    "<!-- c -->",
    "[t](http://evil.example/l)",
    "![i](http://evil.example/i.png)",
    "[ref]: http://evil.example/r",
    "<http://evil.example/auto>",
    "http://evil.example/bare",
    "www.evil.example",
    "mail@evil.example",
    "`code`",
    "```",
    "**bold**",
    "_em_",
    "~~strike~~",
    "$x$",
    "|",
    "\\",
    "\n",
    "\r\n",
    "\n\n# heading\n",
    "\n- item",
    "\n1. item",
    "\n> quote",
    "    indented",
    "---",
    "&lt;b&gt;",
    "&#60;i&#62;",
    '"',
    "'",
    "\u202e",
    "\u2066",
    "\u200f",
    "\x00",
    "\x1b[31m",
)
HOSTILE = st.lists(
    st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=4)), min_size=1, max_size=6
).map("".join)
# Text that is a name: something visible, so renders of two names stay two names.
NAME = HOSTILE.filter(lambda s: s.strip())

# CommonMark + GitHub tables and strikethrough; escapes kept as their own tokens, so an
# autolink literal a renderer could find in one run of text shows up in one token.
_MD = MarkdownIt("commonmark").enable(["table", "strikethrough"]).disable("text_join")
_TEXT_TOKENS = {"text", "text_special", "softbreak", "hardbreak"}
# What GitHub's and marked's autolink extensions (and linkify) would make a link of.
AUTOLINK = re.compile(r"(?i)(?:https?|ftp):/|www\.|[\w.+-]@[\w-]+\.[\w-]")


def _flat(tokens):
    for token in tokens:
        yield token
        yield from _flat(token.children or ())


def markdown_shape(text: str) -> Counter:
    """Every markup token (headings, cells, links, images, HTML, code, emphasis) counted."""
    return Counter(t.type for t in _flat(_MD.parse(text)) if t.type not in _TEXT_TOKENS)


def markdown_texts(text: str) -> list[str]:
    return [t.content for t in _flat(_MD.parse(text)) if t.type in _TEXT_TOKENS]


def autolink_bait(text: str) -> list[str]:
    """Runs of text a linkifying renderer would turn into a link."""
    return [t for t in markdown_texts(text) if AUTOLINK.search(t)]


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: Counter = Counter()
        self.values: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags[(tag, tuple(sorted(name for name, _ in attrs)))] += 1
        self.values += [value or "" for _, value in attrs]

    handle_startendtag = handle_starttag


def html_shape(page: str) -> tuple[Counter, list[str]]:
    """Every start tag with its attribute names, counted; and every attribute value."""
    parser = _Tags()
    parser.feed(page)
    parser.close()
    return parser.tags, parser.values
