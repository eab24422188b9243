"""The word-level diff between item versions."""

from app.analysis.textdiff import word_diff


def test_a_replaced_word_is_shown_removed_then_added():
    assert word_diff("take in more refugees", "take in many more refugees") == [
        ("same", "take in "),
        ("added", "many "),
        ("same", "more refugees"),
    ]


def test_a_replacement_keeps_both_sides():
    runs = word_diff("a regional compact", "a hemispheric compact")
    assert ("removed", "regional") in runs
    assert ("added", "hemispheric") in runs
    assert "".join(t for op, t in runs if op != "removed") == "a hemispheric compact"
    assert "".join(t for op, t in runs if op != "added") == "a regional compact"


def test_identical_texts_have_no_changes():
    assert word_diff("same text", "same text") == [("same", "same text")]


def test_empty_sides():
    assert word_diff("", "new words") == [("added", "new words")]
    assert word_diff("old words", "") == [("removed", "old words")]
