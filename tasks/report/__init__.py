"""Reports of a run: Markdown, self-contained HTML, and the files ``vivek report`` writes."""

from tasks.report.build import build_reports, run_meta
from tasks.report.html import render_html
from tasks.report.markdown import render_markdown

__all__ = ["build_reports", "render_html", "render_markdown", "run_meta"]
