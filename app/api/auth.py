"""Who is calling the API: a personal token (`Authorization: Bearer`), or the signed-in session.

A token request acts as the token's user, with that user's role and organisation and nothing
more, and needs no CSRF token (a browser never sends it on its own). A request that relies on
the session cookie is checked for CSRF like any form, so the API opens no way around it.
"""

from __future__ import annotations

import hashlib
import math
import time

from flask import Flask, after_this_request, current_app, g, request
from flask_babel import gettext as _
from flask_login import current_user
from limits import parse

from app.accounts.profile import caller_for_api_token, note_token_use
from app.api.http import API_PREFIX
from app.errors.handlers import error_response
from app.extensions import csrf, limiter

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def register(app: Flask) -> None:
    for name, blueprint in app.blueprints.items():
        if name.startswith("api_"):
            csrf.exempt(blueprint)  # checked below, for session requests only

    @app.before_request
    def api_caller():  # noqa: ANN202
        if not request.path.startswith(API_PREFIX + "/"):
            return None
        header = request.headers.get("Authorization")
        scheme, _space, secret = (header or "").partition(" ")
        secret = secret.strip() if scheme.lower() == "bearer" else ""
        throttled = _throttle("token:" + _digest(secret) if secret else _address())
        if throttled is not None:
            return throttled
        if header is None:
            # Signed in through the session cookie: a browser could send that on its own.
            if request.method not in SAFE_METHODS and current_user.is_authenticated:
                csrf.protect()
            return None
        caller = caller_for_api_token(secret) if secret else None
        if caller is None:
            # Guesses count against the address too, whatever token each one tries.
            throttled = _throttle(_address())
            if throttled is not None:
                return throttled
            body, status = error_response(
                401, "invalid_token", _("The API token is missing, unknown or revoked.")
            )
            return body, status, {"WWW-Authenticate": 'Bearer realm="consulta"'}
        g._login_user = caller.user  # what flask_login.current_user returns for this request
        g.api_token_user = True
        if caller.use_to_note:
            _note_use_after_response(caller.token_id)
        return None


def _note_use_after_response(token_id: int) -> None:
    """The token's last use is written once the answer is sent, never on the request's path or
    in its transaction (and at most once a minute: see note_token_use)."""
    app = current_app._get_current_object()

    def note() -> None:
        with app.app_context():
            try:
                note_token_use(token_id)
            except Exception:  # a lost note of use must not turn into a failed request
                app.logger.warning(
                    "could not note the use of API token %s", token_id, exc_info=True
                )

    @after_this_request
    def after_answering(response):  # noqa: ANN001, ANN202
        response.call_on_close(note)
        return response


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()[:32]


def _address() -> str:
    return "address:" + (request.remote_addr or "unknown")


def _throttle(who: str):  # noqa: ANN202 - a response, or None to go on
    """Over the `api_rate_limit` setting for `who` (a token, or an address): 429 with
    `Retry-After`."""
    limit = parse(current_app.config["SETTINGS"].api_rate_limit)
    window = limiter.limiter
    try:
        if window.hit(limit, "api", who):
            return None
    except Exception:  # Redis down: better an uncounted call than a refused submission
        current_app.logger.warning("API rate limit not counted: its storage failed", exc_info=True)
        return None
    reset, _remaining = window.get_window_stats(limit, "api", who)
    retry_after = max(1, math.ceil(reset - time.time()))
    body, status = error_response(
        429, "rate_limited", _("Too many requests. Wait %(n)s seconds.", n=retry_after)
    )
    return body, status, {"Retry-After": str(retry_after)}
