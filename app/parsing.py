"""Strict parsing of identifiers that arrive in URLs and forms."""

from __future__ import annotations

import re

# ASCII digits only ("²" and other Unicode digits are refused), and small enough for BIGINT.
_ID = re.compile(r"[0-9]{1,18}")


def parse_id(raw: str | None) -> int | None:
    """The integer in `raw`, or None when it is not a plain non-negative id."""
    if raw is None or not _ID.fullmatch(raw):
        return None
    return int(raw)
