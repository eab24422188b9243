"""The leased-job runner (app.jobs) on PostgreSQL: one run at a time, stale runs change nothing,
attempts run out, lost wake-ups are sent again, and a heartbeat keeps a long run's lease.

The runner is exercised through the email outbox's kind (mail.DELIVERY), with two attempts and
a lease of one second so that expiries are seen in seconds.
"""

from __future__ import annotations

import smtplib
import time
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from app import create_app, jobs
from app.extensions import db
from app.models import Notification, NotificationStatus
from app.models.base import utcnow
from app.notifications import mail
from tests.helpers.jobs import record_wake_ups
from tests.helpers.services import app_settings
from tests.helpers.waiting import wait_for

pytestmark = [pytest.mark.postgres]

KIND = mail.DELIVERY
LEASE_SECONDS = 1


@pytest.fixture
def runner(app, tmp_path, monkeypatch):
    """An app context on the session's database with two attempts and a one-second lease."""
    short = create_app(
        {
            **app_settings(tmp_path, app.config["SETTINGS"].database_url, None, "q"),
            "mail_attempts": 2,
            "mail_lease_seconds": LEASE_SECONDS,
        }
    )
    with short.app_context():
        yield record_wake_ups(monkeypatch, KIND.task)
        db.session.remove()
    with short.app_context():
        db.engine.dispose()


def _job(**values: object) -> int:
    notification = Notification(
        dedupe_key=f"runner-{time.monotonic_ns()}",
        to_email="someone@example.org",
        subject="Subject",
        body_text="Body",
        status=NotificationStatus.PENDING,
        **values,
    )
    db.session.add(notification)
    db.session.commit()
    return notification.id


def _row(job_id: int) -> Notification:
    db.session.expire_all()
    return db.session.get(Notification, job_id)


def _lease_runs_out(job_id: int) -> None:
    db.session.execute(
        update(Notification)
        .where(Notification.id == job_id)
        .values(lease_until=utcnow() - timedelta(seconds=1))
    )
    db.session.commit()


def test_a_job_is_claimed_by_one_run_at_a_time(runner):
    job_id = _job()
    token = jobs.claim(KIND, job_id)
    assert token is not None
    assert jobs.claim(KIND, job_id) is None  # a duplicate wake-up finds nothing to do
    row = _row(job_id)
    assert row.status is NotificationStatus.SENDING
    assert row.attempts == 1 and row.lease_token == token
    assert row.lease_until > utcnow()


def test_a_lease_token_is_new_at_every_claim_and_a_stale_one_changes_nothing(runner):
    job_id = _job()
    first = jobs.claim(KIND, job_id)
    _lease_runs_out(job_id)  # its worker died, or stalled past its lease
    second = jobs.claim(KIND, job_id)
    assert second is not None and second != first
    assert _row(job_id).attempts == 2
    # The first run comes back: it can neither finish nor fail the job.
    assert jobs.finish(KIND, job_id, first, sent_at=utcnow()) is False
    db.session.rollback()
    assert jobs.fail(KIND, job_id, first, ValueError("late")) is False
    assert jobs.renew(KIND, job_id, first) is False
    assert jobs.finish(KIND, job_id, second, sent_at=utcnow()) is True
    db.session.commit()
    row = _row(job_id)
    assert row.status is NotificationStatus.SENT and row.lease_token is None and row.error is None


def test_a_failed_attempt_rests_then_the_last_one_fails_for_good(runner):
    job_id = _job()
    first = jobs.claim(KIND, job_id)
    assert jobs.fail(KIND, job_id, first, ConnectionError("refused")) is True
    row = _row(job_id)
    assert row.status is NotificationStatus.PENDING
    assert row.error == "ConnectionError: refused"
    # It rests for the kind's backoff after its first failure (a minute) before another try.
    assert row.lease_until > utcnow() + timedelta(seconds=50)
    assert jobs.waiting_for_retry(KIND, row) == jobs.Retry(attempt=2, attempts=2)
    assert jobs.claim(KIND, job_id) is None
    _lease_runs_out(job_id)
    second = jobs.claim(KIND, job_id)
    assert second is not None
    assert jobs.fail(KIND, job_id, second, ConnectionError("refused again")) is True
    row = _row(job_id)
    assert row.status is NotificationStatus.FAILED and row.attempts == 2
    assert row.lease_until is None and jobs.waiting_for_retry(KIND, row) is None
    assert jobs.claim(KIND, job_id) is None


def test_an_error_no_attempt_would_cure_fails_the_job_at_once(runner):
    job_id = _job()
    token = jobs.claim(KIND, job_id)
    refused = smtplib.SMTPRecipientsRefused({"someone@example.org": (550, b"no such user")})
    jobs.fail(KIND, job_id, token, refused)
    row = _row(job_id)
    assert row.status is NotificationStatus.FAILED and row.attempts == 1


def test_running_records_a_failure_raised_in_the_block_and_raises_it_again(runner):
    job_id = _job()
    with pytest.raises(ValueError, match="broken"), jobs.running(KIND, job_id) as lease:
        assert lease is not None
        raise ValueError("broken")
    row = _row(job_id)
    assert row.status is NotificationStatus.PENDING and row.error == "ValueError: broken"
    assert row.lease_token is None
    with jobs.running(KIND, job_id) as lease:  # resting: not ours to run yet
        assert lease is None


def test_reconcile_resends_lost_wake_ups_once_and_takes_over_dead_workers(runner):
    sent = runner
    never_sent = _job()
    just_sent = _job(enqueued_at=utcnow())
    dead_worker = _job()
    jobs.claim(KIND, dead_worker)
    out_of_attempts = _job()
    jobs.claim(KIND, out_of_attempts)
    _lease_runs_out(out_of_attempts)
    jobs.claim(KIND, out_of_attempts)  # its second and last attempt
    _lease_runs_out(dead_worker)
    _lease_runs_out(out_of_attempts)

    resent = jobs.reconcile(KIND)

    assert sorted(resent) == [never_sent, dead_worker]
    assert sorted(sent) == [(KIND.task, (never_sent,)), (KIND.task, (dead_worker,))]
    taken_over = _row(dead_worker)
    assert taken_over.status is NotificationStatus.PENDING and taken_over.lease_token is None
    assert jobs.waiting_for_retry(KIND, taken_over) == jobs.Retry(attempt=2, attempts=2)
    failed = _row(out_of_attempts)
    assert failed.status is NotificationStatus.FAILED and failed.error == jobs.WORKER_LOST
    assert _row(just_sent).status is NotificationStatus.PENDING
    # Sent moments ago: nothing is sent again until the kind's requeue delay has passed.
    assert jobs.reconcile(KIND) == []
    db.session.execute(
        update(Notification)
        .where(Notification.id == just_sent)
        .values(enqueued_at=utcnow() - KIND.requeue_after - timedelta(seconds=1))
    )
    db.session.commit()
    assert jobs.reconcile(KIND) == [just_sent]


def test_the_heartbeat_keeps_a_long_run_s_lease_and_a_stopped_one_loses_it(runner):
    job_id = _job()
    with jobs.running(KIND, job_id) as lease:
        claimed_until = _row(job_id).lease_until
        time.sleep(3 * LEASE_SECONDS)  # three leases of work
        row = _row(job_id)
        assert row.lease_token == lease.token and row.lease_until > utcnow()
        assert row.lease_until >= claimed_until + timedelta(seconds=1.5)  # renewed meanwhile
        assert jobs.claim(KIND, job_id) is None  # nobody can take it from a live run
        assert not lease.heartbeat.lost.is_set()

        lease.heartbeat.stop()  # the worker froze, or died, mid-run
        stopped = time.monotonic()
        wait_for(lambda: jobs.claim(KIND, job_id) is not None, timeout=5, interval=0.05)
        lost_after = time.monotonic() - stopped
        assert lost_after <= LEASE_SECONDS + 0.5
        assert lease.finish(sent_at=utcnow()) is False  # the new run owns it now
        db.session.rollback()
    assert db.session.scalar(select(Notification.attempts).where(Notification.id == job_id)) == 2
