"""Council reports as the council asks for them: a report for the current snapshot of an item or
a consultation (an existing one, or a new job for the workers, see pipeline.py), the weekly and
closing reports, publishing the public version, and reading reports."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from app import audit, jobs
from app.accounts.permissions import acting_user
from app.errors import InvalidState, NotFound
from app.extensions import db
from app.models import (
    Consultation,
    ConsultationState,
    CosignState,
    CouncilResponse,
    Feedback,
    FeedbackCosigner,
    FlagCheck,
    Item,
    ModerationFlag,
    Report,
    ReportPart,
    ReportStatus,
    Role,
)
from app.models.base import utcnow
from app.models.moderation import Redaction
from app.reports import pipeline
from app.reports import rows as report_rows
from app.reports.rows import Scope

READERS = (Role.COUNCIL, Role.ADMIN)
DIGEST_EVERY = timedelta(days=7)


def item_scope(item_id: int, public: bool = False) -> str:
    return f"item:{item_id}" + (":public" if public else "")


def consultation_scope(consultation_id: int, public: bool = False) -> str:
    return f"consultation:{consultation_id}" + (":public" if public else "")


def snapshot_key(
    item_id: int | None = None, *, consultation_id: int | None = None, public: bool = False
) -> str:
    """A digest of everything a report of this scope would show, from a few aggregates.

    Every change a report can see moves one of them:
    - a new or withdrawn position changes the count; any edit, decision or redaction of the text
      bumps `updated_at` and `lock_version`;
    - an accepted or ended co-signature changes the co-signature aggregates;
    - flags and campaign membership: a check done or queued, a flag written again, a member
      joining or leaving a campaign, and a merge or renaming (its flags' `created_at` is the
      time of the change) each move the flag aggregates;
    - redactions added or reverted (the public version's key only: the council's shows the
      original text), and the council's responses written or published.
    """
    scope = _scope(item_id, consultation_id, public)
    in_scope = [report_rows.in_scope(scope), report_rows.covered(scope)]
    scoped_ids = select(Feedback.id).where(*in_scope)
    feedback = db.session.execute(
        select(
            func.count(Feedback.id),
            func.max(Feedback.updated_at),
            func.coalesce(func.sum(Feedback.lock_version), 0),
            func.coalesce(func.sum(Feedback.id), 0),
        ).where(*in_scope)
    ).one()
    cosigners = db.session.execute(
        select(
            func.count(FeedbackCosigner.id),
            func.max(FeedbackCosigner.decided_at),
            func.coalesce(func.sum(FeedbackCosigner.organization_id), 0),
        )
        .join(Feedback, Feedback.id == FeedbackCosigner.feedback_id)
        .where(*in_scope, FeedbackCosigner.state == CosignState.ACCEPTED)
    ).one()
    flags = db.session.execute(  # a merge or a renamed campaign also sets `created_at`
        select(
            func.count(ModerationFlag.id),
            func.max(ModerationFlag.created_at),
            func.count(func.distinct(ModerationFlag.campaign_key)),
        ).where(ModerationFlag.feedback_id.in_(scoped_ids))
    ).one()
    waiting = db.session.scalar(
        select(func.count()).select_from(FlagCheck).where(FlagCheck.feedback_id.in_(scoped_ids))
    )
    redactions = (  # the council's version shows the original text: only the public one moves
        db.session.execute(
            select(
                func.count(Redaction.id),
                func.max(Redaction.created_at),
                func.max(Redaction.reverted_at),
                func.count(Redaction.reverted_at),
            ).where(Redaction.feedback_id.in_(scoped_ids))
        ).one()
        if public
        else ()
    )
    responses = select(
        func.count(CouncilResponse.id),
        func.max(CouncilResponse.created_at),
        func.max(CouncilResponse.published_at),
        func.count(CouncilResponse.published_at),
    ).where(CouncilResponse.consultation_id == scope.consultation_id)
    if item_id is not None:
        responses = responses.where(CouncilResponse.item_id == item_id)
    parts = [
        *feedback,
        *cosigners,
        *flags,
        waiting,
        *redactions,
        *db.session.execute(responses).one(),
    ]
    return hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()


def request_item_report(user_id: int, item_id: int, *, public: bool = False) -> Report:
    """The report for the item's current snapshot: an existing one, or a new queued job."""
    item = db.session.get(Item, item_id)
    if item is None:
        acting_user(user_id, *READERS)
        raise NotFound(_("No such item."))
    return request_report(user_id, item.consultation_id, item_id=item.id, public=public)


def request_report(
    user_id: int, consultation_id: int, *, item_id: int | None = None, public: bool = False
) -> Report:
    """The report on an item (or the whole consultation) for its current snapshot: an
    existing one, or a new queued job. `public` asks for the public version."""
    user = acting_user(user_id, *READERS)
    return _request(consultation_id, item_id, public, requested_by_id=user.id)


def compile_again(user_id: int, report_id: int) -> Report:
    """The report of the same scope compiled anew, even when nothing it reads has changed
    (the council wants the latest analysis). Reports already compiled stay readable under their
    ids; the one for the current snapshot is no longer the one returned for it. A compile of
    the current snapshot already under way is returned as it is."""
    user = acting_user(user_id, *READERS)
    report = db.session.get(Report, report_id)
    if report is None:
        raise NotFound(_("No such report."))
    current = snapshot_key(
        report.item_id, consultation_id=report.consultation_id, public=report.is_public
    )
    latest = db.session.scalar(
        select(Report)
        .where(Report.scope == report.scope, Report.snapshot_key == current)
        .with_for_update()
    )
    if latest is not None and latest.status not in (ReportStatus.DONE, ReportStatus.FAILED):
        return latest
    if latest is not None:  # make room for the new one under the same snapshot
        latest.snapshot_key = hashlib.sha256(
            f"superseded|{latest.id}|{current}".encode()
        ).hexdigest()
        db.session.flush()
    audit.record(
        user.id, "report.compile_again", "report", report.id, after={"scope": report.scope}
    )
    again = _request(
        report.consultation_id, report.item_id, report.is_public, requested_by_id=user.id
    )
    db.session.commit()
    return again


def _request(
    consultation_id: int, item_id: int | None, public: bool, *, requested_by_id: int | None
) -> Report:
    if db.session.get(Consultation, consultation_id) is None:
        raise NotFound(_("No such consultation."))
    if item_id is not None:
        item = db.session.get(Item, item_id)
        if item is None or item.consultation_id != consultation_id:
            raise NotFound(_("That consultation has no such item."), field="item_id")
    if item_id is not None:
        scope = item_scope(item_id, public)
    else:
        scope = consultation_scope(consultation_id, public)
    key = snapshot_key(item_id, consultation_id=consultation_id, public=public)
    existing = _find(scope, key)
    if existing is not None and existing.status is ReportStatus.FAILED:
        return _retry(existing, requested_by_id)
    if existing is not None:
        return existing
    report = Report(
        scope=scope,
        consultation_id=consultation_id,
        item_id=item_id,
        snapshot_key=key,
        status=ReportStatus.QUEUED,
        stage="queued",
        percent=0,
        requested_by_id=requested_by_id,
        is_public=public,
        files={},
    )
    try:
        with db.session.begin_nested():  # a savepoint: the caller's work survives a clash
            db.session.add(report)
    except IntegrityError:  # asked twice at the same moment: the other request's row wins
        return _find(scope, key)
    audit.record(requested_by_id, "report.request", "report", report.id, after={"scope": scope})
    jobs.enqueue(pipeline.REPORT, report)
    db.session.commit()
    return report


def _retry(report: Report, requested_by_id: int | None) -> Report:
    """A failed report asked for again: the same snapshot, compiled afresh."""
    db.session.execute(delete(ReportPart).where(ReportPart.report_id == report.id))
    jobs.restart(pipeline.REPORT, report, stage="queued", percent=0, parts_total=0, parts_done=0)
    audit.record(
        requested_by_id, "report.retry", "report", report.id, after={"scope": report.scope}
    )
    db.session.commit()
    return report


def schedule_reports() -> list[int]:
    """Celery beat, hourly: the report of each consultation whose comments have closed, and a
    weekly digest of each open one. Every council member is mailed a link and the PDF when
    the report is ready (at once when the same snapshot was compiled already)."""
    now = utcnow()
    scheduled = []
    for consultation in db.session.scalars(select(Consultation).order_by(Consultation.id)):
        if not any(_reports_due(consultation, now)):
            continue
        locked = db.session.scalar(
            select(Consultation)
            .where(Consultation.id == consultation.id)
            .with_for_update(skip_locked=True)
            .execution_options(populate_existing=True)
        )
        if locked is None:  # another beat run is on it
            continue
        # Read again under the lock: another beat run may have scheduled it since our read.
        closing, digest = _reports_due(locked, now)
        if not closing and not digest:
            continue
        if closing:
            locked.closing_report_at = now
        else:
            locked.last_digest_at = now
        report = _request(consultation.id, None, False, requested_by_id=None)
        report = db.session.get(Report, report.id, with_for_update=True)
        report.notify_council = True
        if report.status is ReportStatus.DONE:
            pipeline.notify_council(report)
        db.session.commit()
        scheduled.append(report.id)
    return scheduled


def _reports_due(consultation: Consultation, now: datetime) -> tuple[bool, bool]:
    """Whether the consultation's closing report, and its weekly digest, are due now."""
    state = consultation.state_at(now)
    closing = state is ConsultationState.CLOSED and consultation.closing_report_at is None
    digest = state is ConsultationState.OPEN and (
        consultation.last_digest_at is None or consultation.last_digest_at < now - DIGEST_EVERY
    )
    return closing, digest


def publish_report(user_id: int, report_id: int) -> Report:
    """Make a finished public version visible to everyone on the consultation's page."""
    user = acting_user(user_id, *READERS)
    report = db.session.get(Report, report_id, with_for_update=True)
    if report is None:
        raise NotFound(_("No such report."))
    if not report.is_public:
        raise InvalidState(
            _("Only the public version of a report can be published. Prepare it first.")
        )
    if report.status is not ReportStatus.DONE:
        raise InvalidState(_("The report is not compiled yet."))
    if report.published_at is not None:
        raise InvalidState(_("This report is already published."))
    report.published_at = utcnow()
    report.published_by_id = user.id
    audit.record(user.id, "report.publish", "report", report.id, after={"scope": report.scope})
    db.session.commit()
    return report


def retract_public_reports(item_id: int, actor_id: int | None, reason: str) -> int:
    """Published public versions that may quote a position on the item which has just changed
    (redacted, withdrawn, edited) stop being public; the council publishes a fresh one. Runs
    in the caller's transaction. Returns how many were retracted."""
    consultation_id = select(Item.consultation_id).where(Item.id == item_id).scalar_subquery()
    retracted = list(
        db.session.scalars(
            select(Report.id).where(
                Report.is_public.is_(True),
                Report.published_at.is_not(None),
                Report.consultation_id == consultation_id,
                or_(Report.item_id.is_(None), Report.item_id == item_id),
            )
        )
    )
    if retracted:
        db.session.execute(
            update(Report)
            .where(Report.id.in_(retracted))
            .values(published_at=None, published_by_id=None)
        )
    for report_id in retracted:
        audit.record(actor_id, "report.retract", "report", report_id, after={"reason": reason})
    return len(retracted)


def published_reports(consultation_id: int) -> list[Report]:
    """The public versions the council published for a consultation, newest first."""
    return list(
        db.session.scalars(
            select(Report)
            .options(joinedload(Report.item))
            .where(
                Report.consultation_id == consultation_id,
                Report.is_public.is_(True),
                Report.published_at.is_not(None),
            )
            .order_by(Report.published_at.desc())
        )
    )


def published_report(consultation_id: int, report_id: int) -> Report:
    report = db.session.get(Report, report_id)
    if (
        report is None
        or report.consultation_id != consultation_id
        or not report.is_public
        or report.published_at is None
    ):
        raise NotFound(_("No such report."))
    return report


def _scope(item_id: int | None, consultation_id: int | None, public: bool) -> Scope:
    if item_id is not None:
        consultation_id = db.session.scalar(select(Item.consultation_id).where(Item.id == item_id))
    return Scope(consultation_id=consultation_id, item_id=item_id, public=public)


def get_report(user_id: int, report_id: int) -> Report:
    acting_user(user_id, *READERS)
    report = db.session.get(Report, report_id)
    if report is None:
        raise NotFound(_("No such report."))
    return report


def get_diagnostics(user_id: int, report_id: int) -> Report:
    """A report for its diagnostics (stage timings, methods and their parameters): admins
    only; the council reads the report, not how long its stages took."""
    acting_user(user_id, Role.ADMIN)
    return get_report(user_id, report_id)


def list_reports(user_id: int, limit: int = 50) -> list[Report]:
    acting_user(user_id, *READERS)
    query = (
        select(Report)
        .options(joinedload(Report.item), joinedload(Report.consultation))
        .order_by(Report.id.desc())
        .limit(limit)
    )
    return list(db.session.scalars(query))


def _find(scope: str, key: str) -> Report | None:
    return db.session.scalar(
        select(Report).where(Report.scope == scope, Report.snapshot_key == key)
    )
