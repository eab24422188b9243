"""Two beat processes (a second scheduler started by mistake, or two replicas of it): each
sends the hourly `schedule_reports`, and two workers run those at the same moments. One report
per consultation is scheduled and the council is mailed once about each, not twice."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Consultation, Notification, Report, ReportStatus, Role, User
from tests.helpers.faults import messages_left, results, server_settings, short_lease_app
from tests.helpers.processes import start_beat
from tests.helpers.waiting import wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.worker]

SCHEDULE = "worker.reports.schedule_reports"
TUNED_APP = "tests.faults.tuning"  # the app, with schedule_reports every second


def test_two_beat_processes_schedule_one_report_per_consultation(
    seeded, tmp_path, workers, mail_catcher
):
    app = short_lease_app(seeded, tmp_path)
    with app.app_context():
        consultations = db.session.scalar(select(func.count(Consultation.id)))
        council = db.session.scalar(select(func.count(User.id)).where(User.role == Role.COUNCIL))
    pair = [workers(app, name) for name in ("first", "second")]
    settings = server_settings(app)
    beats = [
        start_beat(settings, tmp_path / f"beat-{n}.log", TUNED_APP, FAULTS_SCHEDULE_SECONDS="1")
        for n in (1, 2)
    ]
    try:

        def sent_by_each_beat() -> bool:
            return all(beat.log().count(f"({SCHEDULE})") >= 3 for beat in beats)

        wait_for(sent_by_each_beat, timeout=90, interval=0.3)
    finally:
        for beat in beats:
            beat.stop()
    sent = sum(beat.log().count(f"({SCHEDULE})") for beat in beats)
    # Acknowledged: every schedule_reports sent was run by a worker ...

    def ran() -> list[str]:
        return results("".join(w.log_path.read_text() for w in pair), SCHEDULE)

    wait_for(lambda: len(ran()) == sent, timeout=60, interval=0.3)
    # ... and together they scheduled one report per consultation.
    assert sum(int(n) for n in ran()) == consultations, ran()

    def compiled() -> bool:
        with app.app_context():
            return (
                db.session.scalar(
                    select(func.count(Report.id)).where(Report.status == ReportStatus.DONE)
                )
                == consultations
            )

    wait_for(compiled, timeout=120, interval=0.3)
    wait_for(lambda: len(mail_catcher.messages) >= council * consultations, timeout=60)
    wait_for(lambda: messages_left(app) == 0, timeout=30)
    with app.app_context():
        assert db.session.scalar(select(func.count(Report.id))) == consultations
        mails = db.session.scalars(
            select(Notification.dedupe_key).where(Notification.dedupe_key.like("report-ready:%"))
        ).all()
    assert len(mails) == len(set(mails)) == council * consultations
    assert len(mail_catcher.messages) == council * consultations
