"""API test helpers: a personal API token per demo role, and its Authorization header."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.accounts import profile
from app.extensions import db
from app.models import User

ROLES = {
    "stakeholder": "stakeholder@example.org",
    "lead": "lead@example.org",
    "moderator": "moderator@example.org",
    "council": "council@example.org",
    "admin": "admin@example.org",
}


@pytest.fixture
def bearer(seeded):
    """role -> {"Authorization": "Bearer <a fresh token of that demo user>"}."""
    headers: dict[str, dict[str, str]] = {}

    def make(role: str) -> dict[str, str]:
        if role not in headers:
            with seeded.app_context():
                user_id = db.session.scalar(select(User.id).where(User.email == ROLES[role]))
                secret = profile.create_api_token(user_id, f"tests {role}").secret
            headers[role] = {"Authorization": f"Bearer {secret}"}
        return headers[role]

    return make
