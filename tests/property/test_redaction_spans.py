"""Redaction spans, whatever moderators and edits make of them: overlapping, touching, empty,
reversed or past the end of the text, on any Unicode text. The public reads every character
outside the spans as it was, and none inside them."""

from __future__ import annotations

from itertools import groupby

from hypothesis import example, given
from hypothesis import strategies as st

from app.analysis.redaction import MARK, apply_redactions, merged_spans, reanchor
from app.moderation.redactions import highlighted

texts = st.text(max_size=60)
# Offsets well outside the text too: a span kept from a longer version of it, or a bad one.
offsets = st.integers(min_value=-5, max_value=70)
spans = st.lists(st.tuples(offsets, offsets), max_size=6)


def hidden_mask(text: str, spans: list[tuple[int, int]]) -> list[bool]:
    """Character by character, whether some span covers it: the plainest reading of spans."""
    mask = [False] * len(text)
    for start, end in spans:
        for position in range(max(0, start), min(len(text), end)):
            mask[position] = True
    return mask


@given(texts, spans)
@example("abcdef", [(1, 3), (3, 5)])  # touching spans: one mark
@example("abcdef", [(1, 4), (2, 6)])  # overlapping
@example("abc", [(2, 99), (-4, 1)])  # past either end
@example("👩‍👩‍👧 Ana", [(0, 5)])  # characters beyond the BMP and joiners
def test_the_public_reads_every_character_outside_the_spans_and_a_mark_for_each_run(text, spans):
    mask = hidden_mask(text, spans)
    expected = "".join(
        MARK if hidden else "".join(char for char, _ in run)
        for hidden, run in groupby(zip(text, mask, strict=True), key=lambda pair: pair[1])
    )
    assert apply_redactions(text, spans) == expected


@given(texts, spans)
def test_merged_spans_cover_exactly_the_hidden_characters_apart_and_in_order(text, spans):
    merged = merged_spans(spans, len(text))
    covered = [False] * len(text)
    for start, end in merged:
        assert 0 <= start < end <= len(text)
        covered[start:end] = [True] * (end - start)
    assert covered == hidden_mask(text, spans)
    # Apart (a gap between any two) and in order: each is one mark of its own.
    assert all(left[1] < right[0] for left, right in zip(merged, merged[1:], strict=False))


@given(texts, spans)
def test_the_moderators_view_cuts_the_text_into_the_same_hidden_and_shown_pieces(text, spans):
    pieces = highlighted(text, spans)
    assert "".join(piece for piece, _ in pieces) == text
    assert all(pieces)  # no empty piece
    shown = "".join(MARK if hidden else piece for piece, hidden in pieces)
    assert shown == apply_redactions(text, spans)


# Hidden words from an alphabet that neither the rest of the text nor the mark uses, so that
# "none of its characters is shown" is a plain check on the output.
SECRET = st.text(alphabet="0123456789#", min_size=1, max_size=12)
AROUND = st.text(alphabet=st.characters(exclude_characters="0123456789#"), max_size=30)


@given(AROUND, SECRET, AROUND, spans)
def test_no_character_of_a_redacted_span_reaches_the_public(before, secret, after, others):
    text = before + secret + after
    shown = apply_redactions(text, [*others, (len(before), len(before) + len(secret))])
    assert not set(secret) & set(shown)


words = st.text(alphabet="ab ", max_size=12)  # few letters: many repeats and overlaps


@st.composite
def edits(draw: st.DrawFn) -> tuple[str, str, int, int]:
    """(old text, new text, span of the old): the new text often repeats the hidden words,
    next to each other or among other words."""
    old, start, end = draw(words), draw(offsets), draw(offsets)
    hidden = old[max(0, start) : min(len(old), end)]
    new = "".join(draw(st.lists(st.one_of(st.just(hidden), words), max_size=5)))
    return old, new, start, end


@given(st.one_of(st.tuples(words, words, offsets, offsets), edits()))
@example(("ab", "aaab", 0, 2))
@example(("ab", "abab", 0, 2))  # side by side
@example(("aba", "ababa", 0, 3))  # overlapping occurrences
def test_after_an_edit_the_hidden_words_are_hidden_wherever_they_now_stand(case):
    old, new, start, end = case
    hidden = old[max(0, start) : min(len(old), end)]
    moved = reanchor(old, new, (start, end))
    for span_start, span_end in moved:  # each span sits on the very words, never on others
        assert new[span_start:span_end] == hidden
    if not hidden.strip():
        assert moved == []  # blanks hide nothing: no span to keep
        return
    # No whole occurrence of the words is left among the shown pieces of the new text.
    for piece, is_hidden in highlighted(new, moved):
        assert is_hidden or hidden not in piece
    if hidden not in new:
        assert moved == []  # gone from the text: the redaction is closed
