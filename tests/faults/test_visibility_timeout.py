"""A task that outlives the broker's visibility timeout: Redis hands its unacknowledged message
to a second worker while the first still runs it. The leased-job runner makes that second
delivery a no-op: never two runs at once, one result."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Consultation, Item, Report, ReportStatus, User
from app.reports import pipeline
from app.reports import services as reports
from tests.helpers.faults import deliveries, messages_left, results
from tests.helpers.waiting import wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.worker]

VISIBILITY_TIMEOUT = 2  # seconds; an hour in production
PAUSE = 5  # the compilation's pause once it has read the rows: longer than that timeout


def test_a_task_longer_than_the_visibility_timeout_runs_once(faults_app, workers):
    app = faults_app
    slow = {
        "SLOW_COMPILE_SECONDS": str(PAUSE),
        "FAULTS_VISIBILITY_TIMEOUT": str(VISIBILITY_TIMEOUT),
    }
    pair = [
        workers(app, name, include="tests.faults.slow_compile", **slow)
        for name in ("first", "second")
    ]
    with app.app_context():
        council = db.session.scalar(select(User.id).where(User.email == "council@example.org"))
        item_id = db.session.scalar(
            select(Item.id).join(Consultation).order_by(Consultation.id, Item.position).limit(1)
        )
        report_id = reports.request_item_report(council, item_id).id

    def report() -> Report:
        with app.app_context():
            found = db.session.get(Report, report_id)
            db.session.expunge_all()
            return found

    wait_for(lambda: report().status is ReportStatus.DONE, timeout=90, interval=0.2)
    logs = "".join(worker.log_path.read_text() for worker in pair)
    received = deliveries(logs, pipeline.COMPILE_TASK)
    ran = results(logs, pipeline.COMPILE_TASK)
    # Acknowledged: the one message, delivered more than once (handed on when it timed out) ...
    assert len(set(received)) == 1 and len(received) >= 2, received
    # ... and every delivery but one found the job taken, and did nothing.
    assert sorted(ran) == ["False"] * (len(received) - 1) + ["True"], ran
    done = report()
    assert done.attempts == 1  # one claim: never two runs at once
    assert done.result is not None and done.error is None
    with app.app_context():
        assert db.session.scalar(select(func.count(Report.id))) == 1
    wait_for(lambda: messages_left(app) == 0, timeout=30)
