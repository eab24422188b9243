"""CSV injection: exported cells that a spreadsheet would run as a formula are neutralised."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from app.moderation.exports import csv_safe


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=SUM(1)", "'=SUM(1)"),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@x", "'@x"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        # A text cell that looks like a negative number is still user text: quoted.
        ("-3", "'-3"),
    ],
)
def test_formula_triggers_are_prefixed_with_a_quote(value, expected):
    assert csv_safe(value) == expected


@pytest.mark.parametrize(
    "value",
    ["plain text", "", "a=b", "Québec + Ontario", "1+1", "'=already quoted"],
)
def test_plain_text_is_untouched(value):
    assert csv_safe(value) == value


@pytest.mark.parametrize("value", [-3, 5, None, datetime(2026, 1, 1, tzinfo=UTC)])
def test_typed_values_from_the_database_are_untouched(value):
    # Numbers and dates come from typed columns; they cannot carry a formula.
    assert csv_safe(value) is value
