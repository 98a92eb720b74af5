"""The README's tables are contracts: they must say what the code does."""

from __future__ import annotations

import re
from pathlib import Path

from tasks.record.types import STATUS_MEANINGS

README = Path(__file__).resolve().parent.parent / "README.md"


def test_status_table_lists_every_status_with_its_meaning():
    text = README.read_text(encoding="utf-8")
    section = text[text.index("### Statuses") :]
    rows = dict(re.findall(r"^\| `([a-z_]+)` \| (.+?) \|$", section, re.MULTILINE))
    assert rows == STATUS_MEANINGS
