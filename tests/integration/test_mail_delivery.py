"""The outbox survives a mail server outage: nothing is lost, nothing is sent twice."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from app import create_app, jobs
from app.accounts import services as accounts
from app.extensions import db
from app.models import Notification, NotificationStatus
from app.models.base import utcnow
from app.notifications import mail
from tests import factories
from tests.helpers.mail import MailCatcher
from tests.helpers.services import app_settings, free_port

pytestmark = [pytest.mark.postgres]

FORGETFUL = "forgetful@example.org"  # someone who asks for a password reset


def test_retry_delays_grow_and_are_capped():
    delays = [mail.retry_delay(n) for n in range(1, 14)]
    assert delays[:4] == [timedelta(minutes=m) for m in (1, 2, 4, 8)]
    assert delays == sorted(delays)
    assert max(delays) == mail.MAX_RETRY_DELAY


def test_a_message_waits_out_a_mail_outage_and_is_sent_once(pg_url, tmp_path):
    closed_port = free_port()  # nothing listens here: the mail server is "down"
    down = create_app({**app_settings(tmp_path / "a", pg_url, None, "q"), "mail_port": closed_port})
    with down.test_request_context():
        accounts.request_password_reset(factories.person(email=FORGETFUL).email)
        notification_id = db.session.scalar(select(Notification.id))
        assert mail.deliver_notification(notification_id) is False
        row = db.session.get(Notification, notification_id)
        assert row.status is NotificationStatus.PENDING
        assert row.attempts == 1 and "Connection" in row.error
        # Not retried before its delay has passed ...
        assert row.lease_until > utcnow()  # it rests until then
        assert mail.reconcile_notifications() == []
        assert mail.deliver_notification(notification_id) is False  # a wake-up while it rests
        assert db.session.get(Notification, notification_id).attempts == 1

    catcher = MailCatcher()
    catcher.start()
    try:
        back = create_app(
            {**app_settings(tmp_path / "b", pg_url, None, "q"), "mail_port": catcher.port}
        )
        with back.test_request_context():
            # ... two minutes later, its rest after the first failure (a minute) is over ...
            row = db.session.get(Notification, notification_id)
            row.enqueued_at -= timedelta(minutes=2)
            row.lease_until -= timedelta(minutes=2)
            db.session.commit()
            assert mail.reconcile_notifications() == [notification_id]  # ... but after it
            assert mail.deliver_notification(notification_id) is True
            assert mail.deliver_notification(notification_id) is False  # a duplicate wake-up
            row = db.session.get(Notification, notification_id)
            assert row.status is NotificationStatus.SENT and row.attempts == 2
        assert len(catcher.messages) == 1
        assert catcher.messages[0]["To"] == FORGETFUL
    finally:
        catcher.stop()


def test_a_message_is_given_up_only_after_many_attempts(pg_url, tmp_path):
    down = create_app({**app_settings(tmp_path, pg_url, None, "q"), "mail_port": free_port()})
    with down.test_request_context():
        accounts.request_password_reset(factories.person(email=FORGETFUL).email)
        notification_id = db.session.scalar(select(Notification.id))
        attempts = jobs.max_attempts(mail.DELIVERY)
        assert attempts == 12  # with the growing delays, about a day and a half of trying
        for attempt in range(1, attempts + 1):
            db.session.execute(update(Notification).values(lease_until=None))  # rested
            db.session.commit()
            mail.deliver_notification(notification_id)
            status = db.session.get(Notification, notification_id).status
            expected = (
                NotificationStatus.FAILED if attempt == attempts else (NotificationStatus.PENDING)
            )
            assert status is expected


def test_a_long_accented_subject_arrives_word_for_word(pg_url, tmp_path):
    subject = "La contribution de votre organisation sur Consulta n'a pas été publiée, « P4 »"
    catcher = MailCatcher()
    catcher.start()
    try:
        app = create_app({**app_settings(tmp_path, pg_url, None, "q"), "mail_port": catcher.port})
        with app.test_request_context():
            notification = Notification(
                dedupe_key="subject-test",
                to_email=FORGETFUL,
                subject=subject,
                body_text="Bonjour,\n\nUne ligne accentuée : déjà vu.\nhttps://example.org/"
                + "x" * 90,
                status=NotificationStatus.PENDING,
            )
            db.session.add(notification)
            db.session.commit()
            assert mail.deliver_notification(notification.id) is True
        [message] = catcher.messages
        assert message["Subject"] == subject  # Python's folding once lost a space here
        assert "https://example.org/" + "x" * 90 in message.get_content()  # a link stays whole
    finally:
        catcher.stop()
