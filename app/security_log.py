"""The warnings an operator watches for: every failed sign-in and every refused authorisation,
one line each with the request id. Never a password; an email only as a keyed digest, which
ties the attempts on one account together without putting addresses in the logs."""

from __future__ import annotations

import hashlib
import hmac
import logging

from flask import current_app, request
from flask_login import current_user

from app.extensions import db
from app.logs import with_context

logger = logging.getLogger("app.security")
with_context(logger)  # its records carry the request id to every handler, a test's too


def account_digest(email: str) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    normalised = (email or "").strip().lower().encode()
    return hmac.new(key, normalised, hashlib.sha256).hexdigest()[:16]


def failed_sign_in(email: str, reason: str, user_id: int | None = None) -> None:
    """`reason`: wrong_credentials (unknown account, wrong password or deactivated: the page
    tells them apart to no one), unconfirmed, throttled, locked (too many wrong passwords for
    the account: no password signs in; the right one mails a sign-in link)."""
    account = account_digest(email)
    logger.warning(
        "failed sign-in from %s: %s (account %s, user %s)",
        request.remote_addr,
        reason,
        account,
        user_id if user_id is not None else "-",
        extra={
            "event": "sign_in_failed",
            "reason": reason,
            "client": request.remote_addr,
            "account": account,
            "user_id": user_id,
        },
    )


def refused(reason: str, status: int | None = None) -> None:
    """A request refused for who is (or is not) asking: 401, 403, a failed CSRF check, or
    (no status) a redirect to the sign-in page."""
    user = _caller()
    logger.warning(
        "refused %s %s for %s: %s (%s)",
        request.method,
        request.path,
        user,
        reason,
        status or "sent to sign in",
        extra={
            "event": "authorisation_refused",
            "user_id": user,
            "method": request.method,
            "path": request.path,
            "status": status,
            "reason": reason,
            "client": request.remote_addr,
        },
    )


def _caller() -> str:
    """The signed-in user's id, or "anonymous"; never an error of its own (the user may be
    loaded here for the first time, and the database may be what failed)."""
    try:
        if current_user and current_user.is_authenticated:
            return str(current_user.id)
    except Exception:
        db.session.rollback()
        return "unknown"
    return "anonymous"
