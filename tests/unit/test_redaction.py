from app.analysis.redaction import MARK, apply_redactions


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
