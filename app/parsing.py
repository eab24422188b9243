"""Strict parsing of identifiers that arrive in URLs and forms."""

from __future__ import annotations

import re
from collections.abc import Mapping

from werkzeug.exceptions import BadRequest

# ASCII digits only ("²" and other Unicode digits are refused), and small enough for BIGINT.
_ID = re.compile(r"[0-9]{1,18}")


def parse_id(raw: str | None) -> int | None:
    """The integer in `raw`, or None when it is not a plain non-negative id."""
    if raw is None or not _ID.fullmatch(raw):
        return None
    return int(raw)


def id_argument(args: Mapping[str, str], name: str) -> int | None:
    """An optional id in a query string (a page's `after` cursor): None when it is absent,
    a 400 (BadRequest) when it is there but not a plain id."""
    raw = args.get(name, "")
    if not raw:
        return None
    found = parse_id(raw)
    if found is None:
        raise BadRequest(f"{name} is not an id")
    return found
