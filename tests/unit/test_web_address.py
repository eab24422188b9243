"""Evidence links: one rule for the form, the API and the API's document."""

from __future__ import annotations

import re

import pytest

from app.feedback.feedback_input import WEB_ADDRESS, WEB_ADDRESS_PATTERN


@pytest.mark.parametrize(
    "link",
    ["https://example.org", "HTTP://example.org/a?b=1#c", "https://été.fr/", "https://x.org/[1]"],
)
def test_a_plain_web_address_is_accepted(link):
    assert WEB_ADDRESS.fullmatch(link)


@pytest.mark.parametrize(
    "link",
    [
        "ftp://example.org",
        "https://",
        "https:///path",
        "https://exa mple.org",
        "https://example.org/\x18",  # a control character Python counts as a blank, JSON Schema not
        "https://example.org/\x85",
        "https://example.org/\u00a0",
        "https://example.org/\u2028",
        "javascript:alert(1)",
    ],
)
def test_anything_else_is_refused(link):
    assert not WEB_ADDRESS.fullmatch(link)


def test_the_pattern_names_its_blanks_instead_of_using_a_class_engines_read_differently():
    # The API's document states this pattern for JSON Schema (ECMAScript): \s and \S differ
    # there from Python's on control characters, so the pattern must not use them.
    assert not re.search(r"\\[sSwWdD]", WEB_ADDRESS_PATTERN)
