"""Wrong passwords per account: many of them lock the account's password sign-in for a while,
but never lock out its owner.

Only failures count, from any address. While an account is locked, a password is still
checked but never signs anyone in: when it is the right one, the owner is mailed a one-time
link that signs them in. The answer is the same either way, so an attacker who keeps a lead
out on deadline day learns nothing and gets in nowhere, and the lead still signs in.
"""

from __future__ import annotations

import hashlib
import time

from flask_babel import gettext as _
from limits import parse_many

from app.accounts import link_tokens as tokens
from app.extensions import db, limiter
from app.models import User
from app.models.base import utcnow
from app.notifications import mail

FAILURE_LIMITS = parse_many("10/minute;50/hour")
SIGN_IN_LINK_MAX_AGE = 15 * 60
_PURPOSE = "sign-in"


def _key(email: str) -> str:
    return "login-account:" + email.strip().lower()


def is_locked(email: str) -> bool:
    """Whether the account's wrong passwords reached a limit (counted in the limiter's storage,
    shared by every web process)."""
    if not limiter.enabled:
        return False
    return any(not limiter.limiter.test(limit, _key(email)) for limit in FAILURE_LIMITS)


def record_failure(email: str) -> None:
    if limiter.enabled:
        for limit in FAILURE_LIMITS:
            limiter.limiter.hit(limit, _key(email))


def seconds_locked(email: str) -> int:
    """How long until a wrong password more would be counted again (for Retry-After)."""
    resets = [
        limiter.limiter.get_window_stats(limit, _key(email)).reset_time
        for limit in FAILURE_LIMITS
        if not limiter.limiter.test(limit, _key(email))
    ]
    return max(1, int(max(resets, default=time.time()) - time.time()))


def _fingerprint(user: User) -> str:
    # Changes with the password, the address and every sign-in: the link works once, and dies
    # when the password is changed.
    seen = user.last_login_at.isoformat() if user.last_login_at else "-"
    return hashlib.sha256(f"{user.password_hash}|{user.email}|{seen}".encode()).hexdigest()[:16]


def sign_in_token(user: User) -> str:
    """The token of a link that signs `user` in once."""
    return tokens.issue(_PURPOSE, {"uid": user.id, "fp": _fingerprint(user)})


def mail_sign_in_link(user: User) -> None:
    """The right password on a locked account: mail its owner a link that signs them in (at
    most one message a minute). Commits."""
    token = sign_in_token(user)
    mail.queue_email(
        "sign_in_link",
        user.email,
        user.locale,
        dedupe_key=f"sign_in_link:{user.id}:{utcnow():%Y%m%d%H%M}",
        user_id=user.id,
        name=user.name,
        link=mail.absolute_url("auth.sign_in_link", token=token),
    )
    db.session.commit()


def _user_of(payload: dict[str, object]) -> User:
    user = db.session.get(User, int(payload["uid"]))
    if user is None or not user.active or _fingerprint(user) != payload["fp"]:
        raise tokens.InvalidToken(_("This link has already been used."))
    return user


def check_sign_in_link(token: str) -> None:
    """Raise InvalidToken when the link cannot sign anyone in (shown before the button)."""
    _user_of(tokens.read(_PURPOSE, token, SIGN_IN_LINK_MAX_AGE))


def use_sign_in_link(token: str) -> User:
    """The account the link signs in; the link is used up (in the caller's transaction). The
    link proved the address, as a confirmation link would."""
    user = _user_of(tokens.consume(_PURPOSE, token, SIGN_IN_LINK_MAX_AGE))
    user.email_confirmed_at = user.email_confirmed_at or utcnow()
    return user
