"""Two beat processes (a second scheduler started by mistake, or two replicas of it): each
sends the hourly `schedule_reports`, and two workers run those at the same moments. One report
per consultation is scheduled, not two (the council is then mailed about it once: see
tests/integration/test_scheduled_reports.py)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Consultation, Report
from tests.helpers.fault_processes import launch_beat, wait_for_beat
from tests.helpers.faults import results, server_settings, short_lease_app
from tests.helpers.waiting import wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.worker]

SCHEDULE = "worker.reports.schedule_reports"
TUNED_APP = "tests.faults.tuning"  # the app, with schedule_reports every second


def test_two_beat_processes_schedule_one_report_per_consultation(seeded, tmp_path, workers):
    app = short_lease_app(seeded, tmp_path)
    with app.app_context():
        consultations = db.session.scalar(select(func.count(Consultation.id)))
    pair = [workers(app, name) for name in ("first", "second")]
    settings = server_settings(app)
    # Launched together, so that their first schedule_reports go out in the same second.
    beats = [
        launch_beat(settings, tmp_path / f"beat-{n}.log", TUNED_APP, FAULTS_SCHEDULE_SECONDS="1")
        for n in (1, 2)
    ]
    try:
        for beat in beats:
            wait_for_beat(beat)

        def sent_by_each_beat() -> bool:
            return all(beat.log().count(f"({SCHEDULE})") >= 3 for beat in beats)

        wait_for(sent_by_each_beat, timeout=90, interval=0.3)
    finally:
        for beat in beats:
            beat.stop()
    sent = sum(beat.log().count(f"({SCHEDULE})") for beat in beats)

    def ran() -> list[str]:
        return results("".join(w.log_path.read_text() for w in pair), SCHEDULE)

    # Acknowledged: every schedule_reports that the beats sent was run by a worker ...
    wait_for(lambda: len(ran()) == sent, timeout=60, interval=0.3)
    # ... and together they scheduled one report per consultation; stored: just those.
    assert sum(int(n) for n in ran()) == consultations, ran()
    with app.app_context():
        scheduled = db.session.scalars(select(Report)).all()
        assert len(scheduled) == consultations
        assert len({report.consultation_id for report in scheduled}) == consultations
        assert all(report.notify_council for report in scheduled)
