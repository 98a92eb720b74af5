"""The two escapers on their own: hostile text comes out as that text and nothing else."""

from __future__ import annotations

import html as stdlib_html

from hostile_text import HOSTILE, autolink_bait, html_shape, markdown_shape, markdown_texts
from hypothesis import given, settings

from tasks.report.escape import html, md, md_code, plain


@settings(max_examples=300, deadline=None)
@given(HOSTILE)
def test_markdown_escaped_text_renders_as_the_text_alone(text):
    # As a paragraph and as a table cell: one paragraph or one cell, nothing else.
    escaped = md(text)
    assert markdown_shape(escaped) == (
        {"paragraph_open": 1, "paragraph_close": 1, "inline": 1} if plain(text).strip() else {}
    )
    assert "".join(markdown_texts(escaped)) == plain(text).strip()
    table = f"| a | b |\n|---|---|\n| {escaped} | x |\n"
    assert markdown_shape(table)["td_open"] == 2
    assert not autolink_bait(escaped)


@settings(max_examples=300, deadline=None)
@given(HOSTILE)
def test_html_escaped_text_has_no_tag(text):
    tags, _ = html_shape(f"<p>{html(text)}</p>")
    assert tags == {("p", ()): 1}
    assert stdlib_html.unescape(html(text)) == plain(text)


@settings(max_examples=200, deadline=None)
@given(HOSTILE)
def test_a_code_span_holds_any_text(text):
    span = md_code(text)
    assert markdown_shape(span) == {
        "paragraph_open": 1,
        "paragraph_close": 1,
        "inline": 1,
        "code_inline": 1,
    }


def test_ordinary_names_read_as_they_are():
    for name in ("llamacpp:smollm2", "ollama:qwen2.5-coder:7b", "HumanEval/0", "mbpp_11"):
        assert md(name) == name
    assert md("0.85 [0.79, 0.90]") == "0.85 \\[0.79, 0.90\\]"


def test_invisible_controls_are_named_and_breaks_are_spaces():
    assert plain("a\u202eb\nc\x00") == "a[U+202E]b c[U+0000]"
    assert html("<b>\u2066") == "&lt;b&gt;[U+2066]"
