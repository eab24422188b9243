"""The run's PostgreSQL database between tests: seeding it, emptying it, reading rows back."""

from __future__ import annotations

import time
from datetime import timedelta

from flask import Flask
from sqlalchemy import select, text, update
from sqlalchemy.exc import OperationalError

from app.extensions import db
from app.models import Consultation, User
from app.models.base import utcnow


def open_every_consultation() -> None:
    """Tests must not depend on today's date: every consultation is open now, for 30 days."""
    now = utcnow()
    db.session.execute(
        update(Consultation).values(
            opens_at=now - timedelta(days=1), closes_at=now + timedelta(days=30)
        )
    )
    db.session.commit()


def seed_everything() -> None:
    """The seeded consultations, every one open, plus the demo accounts and feedback."""
    from app.services.content import seed_content
    from app.services.demo import seed_demo_data

    seed_content()
    open_every_consultation()
    seed_demo_data()


def user_by_email(app: Flask, email: str):
    """The user row as it is now, detached from any session, for assertions."""
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == email))
        db.session.expunge_all()
        return user


def truncate_everything(attempts: int = 10) -> None:
    """Empty every table. The session's worker may still be flagging a submission of the test
    that just ended: when PostgreSQL picks this TRUNCATE as a deadlock victim, try again (the
    worker's task, if it is the victim instead, retries on its own and finds nothing)."""
    tables = ", ".join(f'"{t.name}"' for t in db.metadata.sorted_tables)
    for attempt in range(attempts):
        try:
            with db.engine.begin() as connection:
                connection.execute(text("SET LOCAL lock_timeout = '5s'"))
                connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
            return
        except OperationalError:
            if attempt == attempts - 1:
                raise
            time.sleep(0.2 * (attempt + 1))
