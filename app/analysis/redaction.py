"""Hiding redacted spans of a text before it is shown to the public."""

from __future__ import annotations

from collections.abc import Iterable

MARK = "[redacted]"


def merged_spans(spans: Iterable[tuple[int, int]], length: int) -> list[tuple[int, int]]:
    """The spans clipped to [0, length], empty ones dropped, overlapping or touching merged."""
    merged: list[list[int]] = []
    for start, end in sorted((max(0, s), min(length, e)) for s, e in spans):
        if start >= end:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(start, end) for start, end in merged]


def apply_redactions(text: str, spans: Iterable[tuple[int, int]]) -> str:
    """`text` with each (start, end) span replaced by MARK; overlapping spans merge into one.

    Spans are clipped to the text, so one that runs past its end cannot fail. Spans must
    belong to this very text: after an edit, move them with `reanchor`.
    """
    pieces, cursor = [], 0
    for start, end in merged_spans(spans, len(text)):
        pieces += [text[cursor:start], MARK]
        cursor = end
    pieces.append(text[cursor:])
    return "".join(pieces)


def reanchor(old_text: str, new_text: str, span: tuple[int, int]) -> list[tuple[int, int]]:
    """Where the words a span hid in `old_text` now stand in `new_text`: every occurrence.

    A redaction hides personal data, so when the text is edited the same data must stay hidden
    wherever it now appears, and a span must never slide onto other words. An empty list
    means the redacted words are gone from the new text.
    """
    start, end = max(0, span[0]), min(len(old_text), span[1])
    hidden = old_text[start:end]
    if not hidden.strip():
        return []
    spans, position = [], new_text.find(hidden)
    while position != -1:
        spans.append((position, position + len(hidden)))
        position = new_text.find(hidden, position + len(hidden))
    return spans
