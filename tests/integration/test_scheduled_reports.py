"""Reports compiled by Celery beat: when a consultation closes, and weekly while it is open."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from app.extensions import db
from app.models import Consultation, Notification, Report, User
from app.models.base import utcnow
from app.reports import pipeline
from app.reports import services as reports

pytestmark = [pytest.mark.postgres, pytest.mark.usefixtures("report_jobs_here")]

SUMMIT = "leaders-summit-2021-migration"


def report_mails() -> list[Notification]:
    return list(
        db.session.scalars(
            select(Notification)
            .where(Notification.dedupe_key.like("report-ready:%"))
            .order_by(Notification.id)
        )
    )


def test_open_consultations_get_a_weekly_digest_and_the_council_is_mailed(seeded):
    with seeded.app_context():
        scheduled = reports.schedule_reports()
        consultations = db.session.scalars(select(Consultation)).all()
        assert len(scheduled) == len(consultations) == 2  # both are open in the tests
        assert reports.schedule_reports() == []  # not again within the week
        assert report_mails() == []  # nothing until the reports are compiled
        for report_id in scheduled:
            pipeline.run_in_process(report_id)
        council = db.session.scalars(select(User.email).where(User.role == "council")).all()
        mails = report_mails()
        assert sorted(m.to_email for m in mails) == sorted(council * 2)
        summit = db.session.scalar(select(Consultation).where(Consultation.slug == SUMMIT))
        [summit_mail] = [m for m in mails if summit.title["en"] in m.body_text]
        report_id = next(
            r for r in scheduled if db.session.get(Report, r).consultation_id == summit.id
        )
        assert f"/reports/{report_id}" in summit_mail.body_text
        assert "submissions" in summit_mail.body_text

        # A week later, nothing has changed: the same report, and the council is not re-mailed.
        db.session.execute(update(Consultation).values(last_digest_at=utcnow() - timedelta(days=8)))
        db.session.commit()
        assert sorted(reports.schedule_reports()) == sorted(scheduled)
        assert len(report_mails()) == len(mails)


def test_a_consultation_that_closes_gets_its_report_once(seeded):
    with seeded.app_context():
        db.session.execute(
            update(Consultation).values(last_digest_at=utcnow())  # digests done this week
        )
        db.session.execute(
            update(Consultation)
            .where(Consultation.slug == SUMMIT)
            .values(
                opens_at=utcnow() - timedelta(days=60), closes_at=utcnow() - timedelta(minutes=5)
            )
        )
        db.session.commit()
        [report_id] = reports.schedule_reports()
        assert reports.schedule_reports() == []  # once, however often beat runs
        report = db.session.get(Report, report_id)
        assert report.notify_council and report.requested_by_id is None
        assert report.scope.startswith("consultation:")
        pipeline.run_in_process(report_id)
        pipeline.run_in_process(report_id)  # a duplicate wake-up changes nothing
        mails = report_mails()
        assert len(mails) == len(
            db.session.scalars(select(User.id).where(User.role == "council")).all()
        )
        assert all(m.dedupe_key.startswith(f"report-ready:{report_id}:") for m in mails)


def test_a_beat_run_that_read_before_another_one_committed_schedules_nothing_again(seeded):
    """Two beats: this run has read the consultations when another run schedules their reports
    and commits. Under its lock it must see that they are done, not act on what it read."""
    with seeded.app_context():
        read = db.session.scalars(select(Consultation)).all()  # this run's read, still held
        with seeded.app_context():  # the other run: a session of its own
            scheduled = reports.schedule_reports()
        assert len(scheduled) == len(read) == 2
        assert reports.schedule_reports() == []
        assert len(db.session.scalars(select(Report)).all()) == 2
