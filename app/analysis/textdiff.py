"""A readable word-level difference between two versions of a text."""

from __future__ import annotations

import difflib
import re
from typing import Literal

Op = Literal["same", "removed", "added"]
_TOKENS = re.compile(r"\s+|[^\s]+")


def word_diff(old: str, new: str) -> list[tuple[Op, str]]:
    """The words of `new` compared with `old`, as runs marked same, removed or added."""
    before, after = _TOKENS.findall(old or ""), _TOKENS.findall(new or "")
    runs: list[tuple[Op, str]] = []
    matcher = difflib.SequenceMatcher(a=before, b=after, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            _append(runs, "same", "".join(before[i1:i2]))
            continue
        if tag in ("delete", "replace"):
            _append(runs, "removed", "".join(before[i1:i2]))
        if tag in ("insert", "replace"):
            _append(runs, "added", "".join(after[j1:j2]))
    return runs


def _append(runs: list[tuple[Op, str]], op: Op, text: str) -> None:
    if not text:
        return
    if runs and runs[-1][0] == op:
        runs[-1] = (op, runs[-1][1] + text)
    else:
        runs.append((op, text))
