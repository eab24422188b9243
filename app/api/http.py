"""HTTP details the API's resources share: ETags from lock versions, If-Match, Location."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable

from flask import request
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.datastructures import WWWAuthenticate
from werkzeug.exceptions import Unauthorized
from werkzeug.routing import IntegerConverter

from app.accounts.permissions import acting_user
from app.errors import DomainError
from app.models import Role

API_PREFIX = "/api/v1"

ETAG = re.compile(r'(?:W/)?"?([0-9]{1,18})"?', re.ASCII)


class PreconditionFailed(DomainError):
    status_code = 412
    code = "stale_version"


class PreconditionRequired(DomainError):
    status_code = 428
    code = "if_match_required"


def etag_of(row) -> str:  # noqa: ANN001 - a row with a lock_version
    return f'"{row.lock_version}"'


def with_etag(body: dict, row, status: int = 200, *, location: str | None = None):  # noqa: ANN001, ANN201
    headers = {"ETag": etag_of(row)}
    if location:
        headers["Location"] = location
    return body, status, headers


def if_match(row) -> int:  # noqa: ANN001 - a row with a lock_version
    """The version the caller last saw, from `If-Match`: required, and it must be current."""
    header = request.headers.get("If-Match")
    if not header:
        raise PreconditionRequired(
            _("Send the ETag you last saw in an If-Match header."), field="If-Match"
        )
    value = header.strip()
    if value == "*":  # any current version: the caller only asks that it exists
        return row.lock_version
    match = ETAG.fullmatch(value)
    if match is None:
        raise DomainError(_('If-Match holds the ETag you last saw, such as "3".'), field="If-Match")
    seen = int(match.group(1))
    if seen != row.lock_version:
        raise PreconditionFailed(
            _("Someone else changed this since you read it: read it again."), field="If-Match"
        )
    return seen


ID_MAX = 2**31 - 1  # ids are PostgreSQL integers


class IdConverter(IntegerConverter):
    """`<id:name>`: a positive id that fits the database's integer; any other is no route
    (404), never a database error."""

    def __init__(self, url_map) -> None:  # noqa: ANN001 - werkzeug's Map
        super().__init__(url_map, min=1, max=ID_MAX)


def id_parameter(_converter: IdConverter) -> dict:
    return {"type": "integer", "minimum": 1, "maximum": ID_MAX}


IF_MATCH = {
    "in": "header",
    "name": "If-Match",
    "required": True,
    "description": "The ETag of the version you last read; a stale one gets 412",
    "schema": {"type": "string", "pattern": '^(W/)?"[0-9]{1,18}"$'},
}


def authenticate() -> None:
    """401 with the scheme to use, for an operation that needs a signed-in caller."""
    raise Unauthorized(www_authenticate=WWWAuthenticate("bearer", {"realm": "consulta"}))


def signed_in() -> int:
    """The caller's user id; 401 for a visitor."""
    if not current_user.is_authenticated:
        authenticate()
    return current_user.id


def signed_in_as(*roles: Role) -> int:
    """The caller's id when signed in with one of `roles`: 401 for a visitor, 403 otherwise."""
    return acting_user(signed_in(), *roles).id


def checked_first(check: Callable[..., object]) -> Callable[[Callable], Callable]:
    """Run `check` with the URL's arguments before the body is read: a caller who may not act
    (or may not see the record) gets 401, 403 or 404, never a 422 about a body it had no right
    to send. Put it above `@blp.arguments`, which parses the body when called."""

    def decorate(view: Callable) -> Callable:
        @functools.wraps(view)  # keeps the OpenAPI notes of the decorators below
        def checked(*args: object, **url_values: object):  # noqa: ANN202
            check(**url_values)
            return view(*args, **url_values)

        return checked

    return decorate
