from app.analysis.redaction import MARK, apply_redactions, reanchor


def test_a_span_is_replaced_by_the_mark() -> None:
    text = "Call Ana on +52 55 1234 5678 for details."
    start = text.index("+52")
    end = start + len("+52 55 1234 5678")
    assert apply_redactions(text, [(start, end)]) == f"Call Ana on {MARK} for details."


def test_overlapping_and_touching_spans_merge_into_one_mark() -> None:
    assert apply_redactions("abcdefghij", [(2, 5), (4, 7), (7, 8)]) == f"ab{MARK}ij"


def test_separate_spans_each_get_a_mark_in_order() -> None:
    assert apply_redactions("one two three", [(8, 13), (0, 3)]) == f"{MARK} two {MARK}"


def test_spans_beyond_the_text_are_clipped_and_empty_ones_ignored() -> None:
    assert apply_redactions("short", [(3, 99), (10, 20), (2, 2)]) == f"sho{MARK}"


def test_no_spans_leave_the_text_alone() -> None:
    assert apply_redactions("unchanged", []) == "unchanged"


def test_an_edit_before_the_span_moves_it_with_the_words_it_hid() -> None:
    old = "Call Ana on +1 555 0142 for details."
    span = (old.index("+1"), old.index(" for"))
    new = "Update after the meeting. " + old
    [moved] = reanchor(old, new, span)
    assert new[moved[0] : moved[1]] == "+1 555 0142"
    assert "+1 555 0142" not in apply_redactions(new, [moved])


def test_hidden_words_that_appear_twice_are_hidden_twice() -> None:
    old = "Mail ana@example.org"
    span = (5, len(old))
    new = "ana@example.org wrote; reply to ana@example.org"
    assert apply_redactions(new, reanchor(old, new, span)) == f"{MARK} wrote; reply to {MARK}"


def test_words_removed_by_the_edit_leave_no_span() -> None:
    assert reanchor("Call +1 555 0142 now", "Call us now", (5, 16)) == []


def test_a_blank_span_moves_nowhere() -> None:
    assert reanchor("a   b", "a   b   c", (1, 4)) == []
