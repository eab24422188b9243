"""Council reports: requesting one (a job row), compiling it on a worker, reading its progress."""

from __future__ import annotations

import hashlib
from datetime import timedelta

from flask_babel import gettext as _
from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from app.extensions import db
from app.models import (
    CosignState,
    Feedback,
    FeedbackCosigner,
    FeedbackState,
    Item,
    Report,
    ReportStatus,
    Role,
)
from app.models.base import utcnow
from app.services import audit
from app.services.consultations import organization_tally
from app.services.errors import NotFound
from app.services.jobs import enqueue_after_commit
from app.services.permissions import acting_user

COMPILE_TASK = "worker.reports.compile_report"
READERS = (Role.COUNCIL, Role.ADMIN)
# Feedback that a council report covers: everything submitted for review or published.
COUNTED_STATES = (FeedbackState.SUBMITTED, FeedbackState.PUBLISHED)
MAX_ATTEMPTS = 3
# A running job renews its lease at every stage; a worker that died stops renewing, and after
# the lease the job is taken over. Every stage must finish well within one lease.
LEASE = timedelta(minutes=5)
# A queued job whose wake-up has not arrived after this long is sent again.
REQUEUE_AFTER = timedelta(seconds=30)


def item_scope(item_id: int) -> str:
    return f"item:{item_id}"


def snapshot_key(item_id: int) -> str:
    """A hash of the ids and versions of the feedback a report on this item would cover."""
    rows = db.session.execute(
        select(Feedback.id, Feedback.lock_version)
        .where(Feedback.item_id == item_id, Feedback.state.in_(COUNTED_STATES))
        .order_by(Feedback.id)
    )
    digest = hashlib.sha256()
    for feedback_id, version in rows:
        digest.update(f"{feedback_id}:{version};".encode())
    # An accepted co-signature changes the counts, so it is part of the snapshot too.
    cosigners = db.session.execute(
        select(FeedbackCosigner.feedback_id, FeedbackCosigner.organization_id)
        .join(Feedback, Feedback.id == FeedbackCosigner.feedback_id)
        .where(
            Feedback.item_id == item_id,
            Feedback.state.in_(COUNTED_STATES),
            FeedbackCosigner.state == CosignState.ACCEPTED,
        )
        .order_by(FeedbackCosigner.feedback_id, FeedbackCosigner.organization_id)
    )
    for feedback_id, organization_id in cosigners:
        digest.update(f"c{feedback_id}:{organization_id};".encode())
    return digest.hexdigest()


def request_item_report(user_id: int, item_id: int) -> Report:
    """The report for the item's current snapshot: an existing one, or a new queued job."""
    user = acting_user(user_id, *READERS)
    item = db.session.get(Item, item_id)
    if item is None:
        raise NotFound(_("No such item."))
    scope, key = item_scope(item_id), snapshot_key(item_id)
    existing = _find(scope, key)
    if existing is not None:
        return existing
    report = Report(
        scope=scope,
        consultation_id=item.consultation_id,
        item_id=item.id,
        snapshot_key=key,
        status=ReportStatus.QUEUED,
        stage="queued",
        percent=0,
        requested_by_id=user.id,
        files={},
    )
    db.session.add(report)
    try:
        db.session.flush()
    except IntegrityError:  # asked twice at the same moment: the other request's row wins
        db.session.rollback()
        return _find(scope, key)
    audit.record(user.id, "report.request", "report", report.id, after={"scope": scope})
    report.enqueued_at = utcnow()
    enqueue_after_commit(COMPILE_TASK, report.id)
    db.session.commit()
    return report


def get_report(user_id: int, report_id: int) -> Report:
    acting_user(user_id, *READERS)
    report = db.session.get(Report, report_id)
    if report is None:
        raise NotFound(_("No such report."))
    return report


def list_reports(user_id: int, limit: int = 50) -> list[Report]:
    acting_user(user_id, *READERS)
    query = (
        select(Report)
        .options(joinedload(Report.item), joinedload(Report.consultation))
        .order_by(Report.id.desc())
        .limit(limit)
    )
    return list(db.session.scalars(query))


def compile_report(report_id: int) -> bool:
    """Compile one report if it is ours to run; False when another run owns or finished it."""
    if not _claim(report_id):
        return False
    report = db.session.get(Report, report_id)
    try:
        _progress(report_id, "counting", 40)
        counts = organization_tally(report.item_id, COUNTED_STATES)  # co-signers included
        _progress(report_id, "summarising", 80)
        result = {"tally": counts.as_dict(), "compiled_at": utcnow().isoformat()}
        finished = db.session.execute(
            update(Report)
            .where(Report.id == report_id, Report.status == ReportStatus.RUNNING)
            .values(
                status=ReportStatus.DONE,
                stage="done",
                percent=100,
                result=result,
                error=None,
                lease_until=None,
                finished_at=utcnow(),
            )
        )
        db.session.commit()
        return finished.rowcount == 1
    except Exception as exc:
        db.session.rollback()
        _record_failure(report_id, exc)
        raise


def reconcile_reports() -> list[int]:
    """Ids of jobs whose wake-up was lost or whose worker died, re-sent; exhausted ones fail."""
    now = utcnow()
    db.session.execute(
        update(Report)
        .where(
            Report.status == ReportStatus.RUNNING,
            Report.lease_until < now,
            Report.attempts >= MAX_ATTEMPTS,
        )
        .values(status=ReportStatus.FAILED, stage="failed", error="worker lost too many times")
    )
    waiting_too_long = or_(Report.enqueued_at.is_(None), Report.enqueued_at < now - REQUEUE_AFTER)
    stale = list(
        db.session.scalars(
            select(Report.id).where(
                or_(
                    (Report.status == ReportStatus.QUEUED) & waiting_too_long,
                    (Report.status == ReportStatus.RUNNING)
                    & (Report.lease_until < now)
                    & waiting_too_long,
                )
            )
        )
    )
    if stale:
        db.session.execute(update(Report).where(Report.id.in_(stale)).values(enqueued_at=now))
    for report_id in stale:
        enqueue_after_commit(COMPILE_TASK, report_id)
    db.session.commit()
    return stale


def _find(scope: str, key: str) -> Report | None:
    return db.session.scalar(
        select(Report).where(Report.scope == scope, Report.snapshot_key == key)
    )


def _claim(report_id: int) -> bool:
    now = utcnow()
    claimed = db.session.execute(
        update(Report)
        .where(
            Report.id == report_id,
            Report.attempts < MAX_ATTEMPTS,
            or_(
                Report.status == ReportStatus.QUEUED,
                (Report.status == ReportStatus.RUNNING) & (Report.lease_until < now),
            ),
        )
        .values(
            status=ReportStatus.RUNNING,
            stage="loading",
            percent=10,
            attempts=Report.attempts + 1,
            lease_until=now + LEASE,
            started_at=now,
        )
    )
    db.session.commit()
    return claimed.rowcount == 1


def _progress(report_id: int, stage: str, percent: int) -> None:
    db.session.execute(
        update(Report)
        .where(Report.id == report_id, Report.status == ReportStatus.RUNNING)
        .values(stage=stage, percent=percent, lease_until=utcnow() + LEASE)
    )
    db.session.commit()


def _record_failure(report_id: int, exc: Exception) -> None:
    report = db.session.get(Report, report_id)
    if report is None:
        return
    exhausted = report.attempts >= MAX_ATTEMPTS
    report.status = ReportStatus.FAILED if exhausted else ReportStatus.QUEUED
    report.stage = "failed" if exhausted else "retrying"
    # The council sees the kind of failure; the details go to the worker's log.
    report.error = type(exc).__name__
    report.lease_until = None
    db.session.commit()
