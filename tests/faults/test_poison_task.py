"""A poison task, on a real worker with beat: a report whose compilation always fails (it raises,
or it kills the worker process running it) fails after its attempts, is not tried again, and
says why. Counted: the runs the worker made, the attempts the job recorded, the messages left."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import func, select, update

from app import jobs
from app.extensions import db
from app.models import Consultation, Item, Report, ReportStatus, User
from app.models.base import utcnow
from app.reports import pipeline
from app.reports import services as reports
from tests.helpers.faults import (
    BEAT_SECONDS,
    LEASE_SECONDS,
    messages_left,
    short_lease_app,
)
from tests.helpers.faults import POISON_RUN_LINE as RUN_LINE
from tests.helpers.waiting import wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.worker]

ATTEMPTS = 2  # report_attempts: 3 in production


@pytest.fixture
def poison_app(seeded, tmp_path):
    return short_lease_app(seeded, tmp_path, report_attempts=ATTEMPTS)


def request_item_report(app) -> int:
    with app.app_context():
        council = db.session.scalar(select(User.id).where(User.email == "council@example.org"))
        item_id = db.session.scalar(
            select(Item.id).join(Consultation).order_by(Consultation.id, Item.position).limit(1)
        )
        return reports.request_item_report(council, item_id).id


def the_report(app, report_id: int) -> Report:
    with app.app_context():
        report = db.session.get(Report, report_id)
        db.session.expunge_all()
        return report


def runs(worker) -> int:
    return worker.log_path.read_text().count(RUN_LINE)


def assert_no_more_runs(app, worker, report_id: int, made: int) -> None:
    """Several leases and beat passes later, the job has not been tried again, and no message
    for it waits on the broker or in a worker's hands."""
    time.sleep(LEASE_SECONDS + 2 * BEAT_SECONDS)
    assert runs(worker) == made
    assert messages_left(app) == 0
    assert the_report(app, report_id).attempts == made


def test_a_task_that_kills_its_worker_fails_after_its_attempts_instead_of_looping(
    poison_app, workers
):
    """The message of a task that kills its process is handed back after each death (acks late,
    reject on worker lost): without the lease it would run again at once, for ever. The lease
    makes that redelivery a no-op, the reconciler counts an attempt per lost worker, and after
    the last one the report fails with the reason."""
    app = poison_app
    worker = workers(app, "worker", include="tests.faults.poison", beat=True, POISON="crash")
    report_id = request_item_report(app)
    attempts = ATTEMPTS
    wait_for(
        lambda: the_report(app, report_id).status is ReportStatus.FAILED, timeout=90, interval=0.2
    )
    report = the_report(app, report_id)
    assert report.error == jobs.WORKER_LOST and report.stage == "failed"
    assert runs(worker) == attempts
    assert worker.log_path.read_text().count("raised error: WorkerLostError") == attempts
    assert worker.process.poll() is None  # the worker lived on through its children's deaths
    assert_no_more_runs(app, worker, report_id, attempts)


def test_a_task_that_always_raises_fails_after_its_attempts_with_its_error(poison_app, workers):
    app = poison_app
    worker = workers(app, "worker", include="tests.faults.poison", beat=True, POISON="raise")
    report_id = request_item_report(app)
    attempts = ATTEMPTS
    for attempt in range(1, attempts + 1):
        wait_for(lambda n=attempt: runs(worker) == n, timeout=60, interval=0.1)  # noqa: B023
        if attempt == attempts:
            break
        report = wait_for(
            lambda: (r := the_report(app, report_id)).status is ReportStatus.QUEUED and r,
            timeout=30,
            interval=0.1,
        )
        assert report.error == "ValueError" and report.attempts == attempt
        # Half a minute passes: the reconciler sends the wake-up of the queued job again.
        with app.app_context():
            db.session.execute(
                update(Report)
                .where(Report.id == report_id)
                .values(enqueued_at=utcnow() - pipeline.REPORT.requeue_after)
            )
            db.session.commit()
    wait_for(
        lambda: the_report(app, report_id).status is ReportStatus.FAILED, timeout=30, interval=0.1
    )
    report = the_report(app, report_id)
    assert report.error == "ValueError" and report.attempts == attempts
    assert report.lease_until is None  # not resting before another try: none is left
    with app.app_context():
        assert db.session.scalar(select(func.count(Report.id))) == 1
    assert_no_more_runs(app, worker, report_id, attempts)
