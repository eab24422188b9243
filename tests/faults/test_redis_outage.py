"""Redis, the broker, lost and back: a private redis-server (never the machine's shared one) that
the tests kill and start again, without persistence, so every queued wake-up is lost with it.
The rows in PostgreSQL are the jobs: the reconcilers in beat send what was lost, once."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
import requests
from sqlalchemy import func, select, update

from app.accounts import services as accounts
from app.extensions import db
from app.models import (
    Feedback,
    FeedbackFingerprint,
    FeedbackState,
    FlagCheck,
    Notification,
    NotificationStatus,
    Report,
    ReportStatus,
    User,
)
from app.models.base import utcnow
from app.moderation import flagging
from app.reports import services as reports
from tests.helpers.fault_processes import PrivateRedis, start_gunicorn
from tests.helpers.faults import (
    BEAT_SECONDS,
    DRAFT,
    LEASE_SECONDS,
    deliveries,
    messages_left,
    new_lead,
    server_settings,
    short_lease_app,
    sign_in,
    submit_form,
)
from tests.helpers.waiting import wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.worker]

RECONCILE_REPORTS = "worker.reports.reconcile_reports"
FORGETFUL = ("admin@example.org", "moderator@example.org", "council@example.org")


@pytest.fixture(scope="module")
def private_redis(tmp_path_factory) -> Iterator[PrivateRedis]:
    server = PrivateRedis(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def broker(private_redis: PrivateRedis) -> PrivateRedis:
    """The private Redis, running and empty at the start of each test."""
    if private_redis.process is None:
        private_redis.start()
    with private_redis.client() as client:
        client.flushall()
    return private_redis


def some_time_passes(organization_id: int | None = None) -> None:
    """Longer than the reconcilers wait before they send a job's wake-up again (a wake-up that
    was sent may still be on its way): half a minute for reports, two minutes for mail and
    flags. The clocks are not touched: the rows say they were sent that long ago."""
    long_ago = utcnow() - timedelta(minutes=3)
    db.session.execute(update(Report).values(enqueued_at=long_ago))
    db.session.execute(update(Notification).values(enqueued_at=long_ago))
    if organization_id is not None:
        db.session.execute(
            update(Feedback)
            .where(Feedback.organization_id == organization_id)
            .values(submitted_at=long_ago)
        )
    db.session.commit()


def sent_mail(app) -> list[tuple[str, str]]:
    with app.app_context():
        rows = db.session.execute(
            select(Notification.to_email, Notification.subject).where(
                Notification.status == NotificationStatus.SENT
            )
        )
        return sorted((to, subject) for to, subject in rows)


def caught(mail_catcher) -> list[tuple[str, str]]:
    return sorted((m["To"], m["Subject"]) for m in mail_catcher.messages)


def test_jobs_queued_when_redis_restarts_are_sent_again_once(
    seeded, tmp_path, broker, workers, mail_catcher
):
    app = short_lease_app(seeded, tmp_path, redis_url=broker.url)
    with app.test_request_context():
        council = db.session.scalar(select(User.id).where(User.email == "council@example.org"))
        lead = new_lead(app, items=2)
        report_ids = [reports.request_item_report(council, i).id for i in lead.item_ids]
        for email in FORGETFUL:
            accounts.request_password_reset(email)
        outbox = db.session.scalar(select(func.count(Notification.id)))
    assert outbox == len(FORGETFUL)
    # Acknowledged: every job is a row, and its wake-up waits on the broker (no worker yet).
    assert messages_left(app) == len(report_ids) + 1  # one batched wake-up for the outbox

    broker.restart()
    assert messages_left(app) == 0  # Redis came back empty: every wake-up is lost
    with app.app_context():
        some_time_passes()
    worker = workers(app, "worker", beat=True)

    def everything_done() -> bool:
        with app.app_context():
            reports_done = db.session.scalar(
                select(func.count(Report.id)).where(Report.status == ReportStatus.DONE)
            )
        return reports_done == len(report_ids) and len(mail_catcher.messages) == outbox

    wait_for(everything_done, timeout=120, interval=0.3)
    wait_for(lambda: messages_left(app) == 0, timeout=30)

    # Stored, and nothing doubled, however often beat has looked since.
    def passes() -> int:
        return len(deliveries(worker.log_path.read_text(), RECONCILE_REPORTS))

    seen = passes()
    wait_for(lambda: passes() >= seen + 3, timeout=30)
    assert caught(mail_catcher) == sent_mail(app)
    assert sorted(to for to, _subject in caught(mail_catcher)) == sorted(FORGETFUL)
    with app.app_context():
        done = db.session.scalars(select(Report)).all()
        assert sorted(r.id for r in done) == sorted(report_ids)
        assert all(r.status is ReportStatus.DONE and r.attempts == 1 for r in done)
        assert db.session.scalar(select(func.max(Notification.attempts))) == 1


def test_stakeholders_submit_while_redis_is_down_and_the_follow_up_runs_when_it_is_back(
    seeded, tmp_path, broker, workers, mail_catcher
):
    """Through real gunicorn, whose rate limits are kept in Redis too (as in production): a lead
    signs in and submits on the web form, and through the API, while Redis is down."""
    app = short_lease_app(seeded, tmp_path, redis_url=broker.url)
    lead = new_lead(app, items=3)
    web = start_gunicorn(server_settings(app, ratelimit_storage_url=""), tmp_path / "web.log")
    try:
        broker.stop()
        # The API first: its own throttle meets the dead Redis before the web's limiter does.
        through_the_api = [
            requests.post(
                f"{web.url}/api/v1/feedback",
                json={**DRAFT, "item_id": item_id, "submit": True},
                headers=lead.headers,
                timeout=60,
            )
            for item_id in lead.item_ids[1:]
        ]
        browser = requests.Session()
        signed_in = sign_in(browser, web.url, lead.email)
        on_the_form = submit_form(
            browser, web.url, lead.forms[0], stance="oppose", priority="2",
            comment="Not like this.", submit="Submit",
        )  # fmt: skip
    finally:
        web.stop()
    failures = web.log()[-3000:]
    assert signed_in.status_code == 302, failures
    assert on_the_form.status_code == 302, failures  # to the item's page: submitted
    assert [a.status_code for a in through_the_api] == [201, 201], failures
    with app.app_context():
        stored = db.session.scalars(
            select(Feedback.id).where(
                Feedback.organization_id == lead.organization_id,
                Feedback.state == FeedbackState.SUBMITTED,
            )
        ).all()
        assert len(stored) == len(lead.item_ids)
        assert {a.json()["id"] for a in through_the_api} < set(stored)
        # Their follow-up work waits in PostgreSQL: a flag check and a receipt each.
        waiting = select(func.count(FlagCheck.feedback_id))
        assert db.session.scalar(waiting.where(FlagCheck.feedback_id.in_(stored))) == 3
        receipts = db.session.scalar(
            select(func.count(Notification.id)).where(Notification.user_id == lead.user_id)
        )
        assert receipts == len(stored)
        assert sent_mail(app) == []

    broker.start()
    with app.app_context():
        some_time_passes(lead.organization_id)
    workers(app, "worker", beat=True)

    def flagged() -> bool:
        with app.app_context():
            checked = db.session.scalar(
                select(func.count(FeedbackFingerprint.feedback_id)).where(
                    FeedbackFingerprint.band == flagging.SENTINEL_BAND,
                    FeedbackFingerprint.feedback_id.in_(stored),
                )
            )
            left = db.session.scalar(waiting.where(FlagCheck.feedback_id.in_(stored)))
        return checked == len(stored) and left == 0

    wait_for(flagged, timeout=120, interval=0.3)
    wait_for(lambda: len(sent_mail(app)) == receipts, timeout=120, interval=0.3)
    wait_for(lambda: messages_left(app) == 0, timeout=30)
    time.sleep(2 * (LEASE_SECONDS + BEAT_SECONDS))  # beat looks again: nothing more goes out
    assert caught(mail_catcher) == sent_mail(app)
    assert [to for to, _subject in caught(mail_catcher)] == [lead.email] * receipts
    with app.app_context():
        assert db.session.scalar(select(func.max(Notification.attempts))) == 1
