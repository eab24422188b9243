"""`Idempotency-Key`: a retried request gets the answer of the first one, and the work is done
once. The answer is stored in the transaction that does the work (`remember`), so either
both are saved or neither; the same key with a different request is refused (422)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from functools import wraps

from flask import g, jsonify, request
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from app.errors import Conflict, DomainError
from app.extensions import db
from app.models import IdempotentRequest

HEADER = "Idempotency-Key"
MAX_KEY = 200
DOC_PARAMETER = {
    "in": "header",
    "name": HEADER,
    "required": False,
    "description": "Any unique string (a UUID): a retry with the same key is not done twice",
    "schema": {"type": "string", "minLength": 1, "maxLength": MAX_KEY},
}


class KeyReused(DomainError):
    status_code = 422
    code = "idempotency_key_reused"


def idempotent(view: Callable) -> Callable:
    """For a POST view whose service calls `remember(status, body)` before committing."""

    @wraps(view)
    def wrapper(*args: object, **kwargs: object):  # noqa: ANN202
        key = request.headers.get(HEADER)
        if key is None or not current_user.is_authenticated:
            return view(*args, **kwargs)
        if not 0 < len(key) <= MAX_KEY:
            raise DomainError(
                _("An Idempotency-Key has 1 to %(n)s characters.", n=MAX_KEY), field=HEADER
            )
        fingerprint = hashlib.sha256(
            b"\n".join((request.method.encode(), request.path.encode(), request.get_data()))
        ).hexdigest()
        stored = _stored(key)
        if stored is None:
            g.idempotency = (key, fingerprint)
            try:
                return view(*args, **kwargs)
            except Conflict:
                stored = _stored(key)  # the same request, sent twice at once: the other won
                if stored is None:
                    raise
        if stored.request_hash != fingerprint:
            raise KeyReused(_("This Idempotency-Key was used for another request."), field=HEADER)
        response = jsonify(stored.response)
        response.status_code = stored.status
        response.headers["Idempotent-Replayed"] = "true"
        return response

    return wrapper


def remember(status: int, body: dict) -> None:
    """Store the answer for the request's key, in the caller's transaction (no key: nothing)."""
    found = g.get("idempotency")
    if found is None:
        return
    key, fingerprint = found
    db.session.add(
        IdempotentRequest(
            user_id=current_user.id,
            key=key,
            request_hash=fingerprint,
            status=status,
            response=body,
        )
    )


def _stored(key: str) -> IdempotentRequest | None:
    return db.session.scalar(
        select(IdempotentRequest).where(
            IdempotentRequest.user_id == current_user.id, IdempotentRequest.key == key
        )
    )
