"""The thin path end to end on PostgreSQL, with a real Celery worker consuming from Redis."""

from __future__ import annotations

import pytest

from app.extensions import db
from app.models import AuditEvent, Report, ReportStatus
from tests.helpers.thin_path import run_thin_path

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.worker]


def test_feedback_travels_from_stakeholder_to_council_report(seeded, celery_worker, login):
    outcome = run_thin_path(seeded.test_client, login)

    with seeded.app_context():
        reports = db.session.scalars(db.select(Report)).all()
        assert len(reports) == 1
        assert reports[0].status is ReportStatus.DONE
        assert reports[0].attempts == 1
        assert reports[0].result["tally"]["stances"]["support"] == 1
        actions = set(db.session.scalars(db.select(AuditEvent.action)))
        assert {"feedback.submit", "feedback.published", "report.request"} <= actions
    assert outcome["feedback_id"] > 0
