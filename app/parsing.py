"""Strict parsing of what arrives in URLs, forms and JSON bodies."""

from __future__ import annotations

import re
from collections.abc import Mapping

from flask import request
from flask_babel import gettext as _
from werkzeug.exceptions import BadRequest

from app.errors import DomainError

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


# A \uD800-\uDFFF escape: half of a surrogate pair, which JSON allows alone but no text can hold.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


def lone_surrogate_path(raw: bytes, value: object) -> str | None:
    """Where the decoded JSON `value` of the body `raw` holds a string with half a surrogate
    pair ("items.1.comment"), or None. Only a body with such an escape is walked."""
    if not _SURROGATE_ESCAPE.search(raw):
        return None
    stack: list[tuple[str, object]] = [("", value)]
    while stack:
        path, node = stack.pop()
        if isinstance(node, dict):
            stack.extend(
                (f"{path}.{key}" if path else str(key), item) for key, item in node.items()
            )
            # A key is text too: name the object it belongs to.
            if any(unencodable(key) for key in node):
                return path or "body"
        elif isinstance(node, list):
            stack.extend(
                (f"{path}.{index}" if path else str(index), item) for index, item in enumerate(node)
            )
        elif isinstance(node, str) and unencodable(node):
            return path or "body"
    return None


def unencodable(text: str) -> bool:
    """Whether `text` has no UTF-8 (half of a surrogate pair): no database text can hold it."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


class NulCharacter(DomainError):
    code = "invalid_data"


FREE_TEXT = frozenset({"next", "q"})


def refuse_nul_in_query() -> None:
    """Before every request: a NUL in a query-string value is a 400 naming the parameter. No
    filter or search can hold one (PostgreSQL refuses it), and a streamed export would find out
    only after its 200 had been sent. Let through: `next`, never queried (sign-in drops a bad
    one, `safe_next`, rather than refuse the visitor), and `q`, free text that each search
    cleans (the public search drops control characters) or refuses itself, with its message."""
    for name, value in request.args.items(multi=True):
        if name not in FREE_TEXT and ("\x00" in value or "\x00" in name):
            raise NulCharacter(
                _("This value holds a NUL character."), field=name.replace("\x00", "")
            )
