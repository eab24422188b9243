"""Ids from URLs and query strings: plain ASCII digits or nothing."""

from __future__ import annotations

import pytest
from werkzeug.exceptions import BadRequest

from app.parsing import id_argument, parse_id


@pytest.mark.parametrize(("raw", "expected"), [("42", 42), ("0", 0), ("007", 7)])
def test_a_plain_id_is_read(raw, expected):
    assert parse_id(raw) == expected


@pytest.mark.parametrize("raw", [None, "", "-1", "4.2", "²", "1e3", " 4", "9" * 19])
def test_anything_else_is_not_an_id(raw):
    assert parse_id(raw) is None


def test_a_cursor_is_optional_but_never_garbage():
    assert id_argument({}, "after") is None
    assert id_argument({"after": ""}, "after") is None
    assert id_argument({"after": "17"}, "after") == 17
    with pytest.raises(BadRequest):
        id_argument({"after": "abc"}, "after")
