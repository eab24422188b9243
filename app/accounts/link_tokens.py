"""Signed, expiring, single-use tokens for links sent by email."""

from __future__ import annotations

import secrets

from flask import current_app
from flask_babel import gettext as _
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy.exc import IntegrityError

from app.errors import DomainError
from app.extensions import db
from app.models import UsedToken


class InvalidToken(DomainError):
    status_code = 400
    code = "invalid_token"


def _serializer(purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=f"consulta.{purpose}")


def issue(purpose: str, payload: dict[str, object]) -> str:
    """A token for `purpose` carrying `payload` and a random id that makes it single-use."""
    return _serializer(purpose).dumps({**payload, "jti": secrets.token_hex(16)})


def read(purpose: str, token: str, max_age: int) -> dict[str, object]:
    """The payload of a valid, unexpired token (without using it up)."""
    try:
        return _serializer(purpose).loads(token, max_age=max_age)
    except SignatureExpired as error:
        raise InvalidToken(_("This link has expired. Ask for a new one.")) from error
    except BadSignature as error:
        raise InvalidToken(_("This link is not valid.")) from error


def consume(purpose: str, token: str, max_age: int) -> dict[str, object]:
    """Read the token and mark it used, in the caller's transaction; a second use is refused."""
    payload = read(purpose, token, max_age)
    db.session.add(UsedToken(jti=str(payload["jti"]), purpose=purpose))
    try:
        db.session.flush()
    except IntegrityError as error:
        db.session.rollback()
        raise InvalidToken(_("This link has already been used.")) from error
    return payload
