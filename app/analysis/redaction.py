"""Hiding redacted spans of a text before it is shown to the public."""

from __future__ import annotations

from collections.abc import Iterable

MARK = "[redacted]"


def apply_redactions(text: str, spans: Iterable[tuple[int, int]]) -> str:
    """`text` with each (start, end) span replaced by MARK; overlapping spans merge into one.

    Spans are clipped to the text, so a span recorded against a longer revision cannot leak or
    fail: whatever it still covers is hidden.
    """
    merged: list[list[int]] = []
    for start, end in sorted((max(0, s), min(len(text), e)) for s, e in spans):
        if start >= end:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    pieces, cursor = [], 0
    for start, end in merged:
        pieces += [text[cursor:start], MARK]
        cursor = end
    pieces.append(text[cursor:])
    return "".join(pieces)
