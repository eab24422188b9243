"""The mail server down: messages wait in the outbox (PostgreSQL), resting between attempts, and
go out once when it is back. A real worker with beat, and a real SMTP server started late."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from app.accounts import services as accounts
from app.extensions import db
from app.models import Notification, NotificationStatus
from app.models.base import utcnow
from tests.helpers.faults import BEAT_SECONDS, messages_left, short_lease_app
from tests.helpers.mail import MailCatcher
from tests.helpers.waiting import wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.worker]

FORGETFUL = ("admin@example.org", "moderator@example.org", "council@example.org")


def outbox(app) -> list[Notification]:
    with app.app_context():
        rows = db.session.scalars(select(Notification).order_by(Notification.id)).all()
        db.session.expunge_all()
        return rows


def test_mail_waits_in_the_outbox_while_smtp_is_down_and_goes_out_once(seeded, tmp_path, workers):
    catcher = MailCatcher()  # its port is chosen, but nothing listens there yet: SMTP is down
    app = short_lease_app(seeded, tmp_path, mail_port=catcher.port)
    worker = workers(app, "worker", beat=True)
    with app.test_request_context():
        for email in FORGETFUL:
            accounts.request_password_reset(email)

    def tried_once_and_resting() -> bool:
        rows = outbox(app)
        return len(rows) == len(FORGETFUL) and all(
            row.attempts == 1 and row.status is NotificationStatus.PENDING and row.error
            for row in rows
        )

    wait_for(tried_once_and_resting, timeout=60, interval=0.2)
    assert all("Connection" in row.error for row in outbox(app))
    time.sleep(3 * BEAT_SECONDS)  # beat looks again and again, but they rest (a minute at first)
    assert [row.attempts for row in outbox(app)] == [1] * len(FORGETFUL)

    catcher.start()
    try:
        # A minute passes: their rest is over (the rows say so; the clocks are not touched).
        with app.app_context():
            db.session.execute(
                update(Notification).values(
                    lease_until=utcnow() - timedelta(seconds=1),
                    enqueued_at=utcnow() - timedelta(minutes=3),
                )
            )
            db.session.commit()
        wait_for(lambda: len(catcher.messages) >= len(FORGETFUL), timeout=60, interval=0.2)
        wait_for(lambda: messages_left(app) == 0, timeout=30)
        time.sleep(3 * BEAT_SECONDS)  # and beat looks again: nothing more goes out
    finally:
        catcher.stop()
    assert sorted(m["To"] for m in catcher.messages) == sorted(FORGETFUL)  # once each
    rows = outbox(app)
    assert all(row.status is NotificationStatus.SENT and row.attempts == 2 for row in rows)
    assert worker.process.poll() is None
