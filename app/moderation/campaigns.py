"""Bulk decisions on a whole campaign (a group of near-duplicate submissions; the groups
themselves are read in campaign_groups.py).

A submission belongs to a campaign when it has a `ModerationFlag` of kind CAMPAIGN; the flag's
`campaign_key` names the group. A bulk decision is a `BulkAction` row (the job) carried out by
a worker in chunks of `CHUNK_SIZE` ids. Each chunk is one transaction that updates the
feedback rows, advances `done` while the run holds the job, and writes one audit event, so a
worker that dies leaves every row either decided or still SUBMITTED, and a later run continues
with the members still SUBMITTED (only those are ever touched).

"Reject every member" tells each organisation exactly as a single rejection does: the reason
is stored in the organisation's language for its dashboard, and every active lead is emailed
in their own language. The messages are written in the chunk's transaction, keyed on
(action, submission, lead), so a chunk run again never mails twice.

"Publish one and count the rest": the representative is PUBLISHED; every other member still
SUBMITTED becomes REJECTED with `moderation_code` COUNTED_CODE ("campaign_counted") and a
`moderation_reason` naming the representative's reference. They stay out of the public list
(only PUBLISHED is public) and a report counts them by that code. Their organisations get no
email: their position is counted, which is a publication in substance, and publishing mails
nobody on the single path either; the dashboard shows the reason.
"""

from __future__ import annotations

from collections.abc import Sequence

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import case, func, select, update

from app import audit, jobs
from app.accounts.permissions import MODERATORS, acting_user
from app.errors import Conflict, DomainError, InvalidState, NotFound
from app.extensions import db
from app.feedback import cosigning
from app.models import Feedback, FeedbackCosigner, FeedbackState
from app.models.base import utcnow
from app.models.feedback import COUNTED_CODE
from app.models.moderation import BulkAction, BulkStatus
from app.moderation import services as moderation
from app.moderation.campaign_groups import in_campaign
from app.moderation.campaign_membership import lock_items
from app.organizations import services as organizations

RUN_TASK = "worker.campaigns.run_bulk_action"
CHUNK_SIZE = 500
# A bulk decision is one leased job (app.jobs): a run holds it while it decides chunk after chunk.
BULK_ACTION = jobs.JobKind(
    name="bulk action",
    model=BulkAction,
    task=RUN_TASK,
    statuses=jobs.Statuses(
        BulkStatus.QUEUED, BulkStatus.RUNNING, BulkStatus.DONE, BulkStatus.FAILED
    ),
    attempts_setting="bulk_action_attempts",
    lease_setting="bulk_action_lease_seconds",
)

PUBLISH_ALL = "publish_all"
PUBLISH_ONE = "publish_one"
REJECT_ALL = "reject_all"
KINDS = {
    PUBLISH_ALL: _l("Publish every member"),
    PUBLISH_ONE: _l("Publish one representative and count the rest"),
    REJECT_ALL: _l("Reject every member"),
}
REASON_CODES = {
    "off_topic": _l("Off topic"),
    "duplicate": _l("Duplicate"),
    "spam": _l("Spam"),
    "other": _l("Other"),
}
ACTIVE = (BulkStatus.QUEUED, BulkStatus.RUNNING)


def request_bulk(
    user_id: int,
    key: str,
    kind: str,
    reason_code: str | None = None,
    note: str = "",
    representative_id: int | None = None,
) -> BulkAction:
    """Record a bulk decision on the campaign's members still SUBMITTED and wake a worker."""
    moderator = acting_user(user_id, *MODERATORS)
    if kind not in KINDS:
        raise DomainError(_("Choose what to do with the campaign."), field="kind")
    note = (note or "").strip()
    if kind == REJECT_ALL and reason_code not in REASON_CODES:
        raise DomainError(_("A rejection needs a reason."), field="reason_code")
    # The organisations are told the reason, as for a single rejection.
    if kind == REJECT_ALL and reason_code == moderation.OTHER_REASON and not note:
        raise DomainError(_("Explain the reason in the note."), field="note")
    if len(note) > moderation.NOTE_MAX:
        raise DomainError(_("The note is too long."), field="note")
    if kind != REJECT_ALL:
        reason_code = None
    if kind == PUBLISH_ONE:
        state = db.session.scalar(
            select(Feedback.state).where(Feedback.id == representative_id, in_campaign(key))
        )
        if state is None:
            raise DomainError(
                _("The representative must be a member of the campaign."),
                field="representative_id",
            )
        if state is not FeedbackState.SUBMITTED:
            raise InvalidState(_("The representative has already been decided."))
    else:
        representative_id = None
    running = db.session.scalar(
        select(BulkAction.id).where(BulkAction.campaign_key == key, BulkAction.status.in_(ACTIVE))
    )
    if running is not None:
        raise Conflict(_("A bulk decision on this campaign is already under way."))
    total = db.session.scalar(
        select(func.count(Feedback.id)).where(
            in_campaign(key), Feedback.state == FeedbackState.SUBMITTED
        )
    )
    if not total:
        raise InvalidState(_("Every member of this campaign has already been decided."))
    action = BulkAction(
        kind=kind,
        campaign_key=key,
        reason_code=reason_code,
        note=note,
        representative_id=representative_id,
        requested_by_id=moderator.id,
        status=BulkStatus.QUEUED,
        total=total,
        done=0,
        attempts=0,
    )
    db.session.add(action)
    db.session.flush()
    audit.record(
        moderator.id,
        "campaign.bulk_requested",
        "bulk_action",
        action.id,
        after={
            "campaign_key": key,
            "kind": kind,
            "reason_code": reason_code,
            "representative_id": representative_id,
            "total": total,
        },
    )
    jobs.enqueue(BULK_ACTION, action)
    db.session.commit()
    return action


def get_bulk_action(user_id: int, action_id: int) -> BulkAction:
    acting_user(user_id, *MODERATORS)
    action = db.session.get(BulkAction, action_id)
    if action is None:
        raise NotFound(_("No such bulk decision."))
    return action


def bulk_status(user_id: int, action_id: int) -> dict[str, object]:
    """The progress of a bulk decision, for polling."""
    action = get_bulk_action(user_id, action_id)
    percent = 100 if action.status is BulkStatus.DONE else 0
    if action.total and action.status is not BulkStatus.DONE:
        percent = min(99, action.done * 100 // action.total)
    return {
        "id": action.id,
        "campaign_key": action.campaign_key,
        "kind": action.kind,
        "status": action.status.value,
        "total": action.total,
        "done": action.done,
        "percent": percent,
        "error": action.error,
    }


def run_bulk_action(action_id: int, max_chunks: int | None = None) -> bool:
    """Carry out a bulk decision if it is ours to run; True once it is finished.

    `max_chunks` stops after that many chunks without finishing (tests use it to play a worker
    that died mid-way).
    """
    with jobs.running(BULK_ACTION, action_id) as lease:
        if lease is None:
            return False
        chunks = 0
        while max_chunks is None or chunks < max_chunks:
            processed = _run_chunk(action_id, lease.token)
            if processed is None:  # the lease was taken over: the new owner carries on
                return False
            if processed == 0:
                return _finish(action_id, lease.token)
            chunks += 1
        return False  # as a worker that died here would: the lease runs out


def reconcile_bulk_actions() -> list[int]:
    """Ids of actions whose wake-up was lost or whose worker died, re-sent; a run whose lease
    ran out goes back to the queue, and its old worker, if still alive, no longer holds the
    token and stops at its next chunk."""
    return jobs.reconcile(BULK_ACTION)


# --- the run --------------------------------------------------------------------------------


def _run_chunk(action_id: int, token: str) -> int | None:
    """Decide the next CHUNK_SIZE members still SUBMITTED, in one transaction.

    The number decided (0: nothing left), or None when the action is no longer ours. The
    campaign's item lock comes first, as in flagging (app.moderation.campaign_membership), so
    a chunk and a flag batch merging this campaign never wait on each other's rows.
    """
    key = db.session.scalar(select(BulkAction.campaign_key).where(BulkAction.id == action_id))
    lock_items(db.session.scalars(select(Feedback.item_id).where(in_campaign(key)).distinct()))
    if not jobs.still_owned(BULK_ACTION, action_id, token):
        db.session.rollback()
        return None
    action = db.session.execute(
        select(
            BulkAction.attempts,
            BulkAction.kind,
            BulkAction.campaign_key,
            BulkAction.reason_code,
            BulkAction.note,
            BulkAction.representative_id,
            BulkAction.requested_by_id,
        ).where(BulkAction.id == action_id)
    ).one()
    # Each member's organisation, by member id, in id order.
    members = dict(
        db.session.execute(
            select(Feedback.id, Feedback.organization_id)
            .where(in_campaign(action.campaign_key), Feedback.state == FeedbackState.SUBMITTED)
            .order_by(Feedback.id)
            .limit(CHUNK_SIZE)
            .with_for_update(of=Feedback)
        ).all()
    )
    ids = list(members)
    if not ids:
        db.session.rollback()
        return 0
    chunk = Feedback.id.in_(ids)
    moderator_id = action.requested_by_id
    published, rejected = [], []
    if action.kind == PUBLISH_ALL:
        published = moderation.decide_submitted(chunk, FeedbackState.PUBLISHED, moderator_id)
    elif action.kind == REJECT_ALL:
        rejected = _reject_and_tell(action_id, action, chunk, members)
    else:
        representative = chunk & (Feedback.id == action.representative_id)
        published = moderation.decide_submitted(
            representative, FeedbackState.PUBLISHED, moderator_id
        )
        reference = db.session.scalar(
            select(Feedback.reference).where(Feedback.id == action.representative_id)
        )
        rejected = moderation.decide_submitted(
            chunk & (Feedback.id != action.representative_id),
            FeedbackState.REJECTED,
            moderator_id,
            code=COUNTED_CODE,
            reason=_(
                "Counted with the campaign's representative submission %(reference)s.",
                reference=reference or "-",
            ),
        )
    _release_cosigners(rejected, action.requested_by_id)
    count = len(published) + len(rejected)
    db.session.execute(
        update(BulkAction)
        .where(jobs.owned(BULK_ACTION, action_id, token))
        .values(
            done=BulkAction.done + count,
            # Members that joined the campaign after the request are decided too.
            total=case(
                (BulkAction.done + count > BulkAction.total, BulkAction.done + count),
                else_=BulkAction.total,
            ),
        )
    )
    audit.record(
        action.requested_by_id,
        "campaign.bulk_chunk",
        "bulk_action",
        action_id,
        after={
            "first_id": ids[0],
            "last_id": ids[-1],
            "published": len(published),
            "rejected": len(rejected),
            "attempt": action.attempts,
        },
    )
    db.session.commit()
    return len(ids)


def _reject_and_tell(
    action_id: int,
    action,  # noqa: ANN001 - the action's row
    chunk,  # noqa: ANN001 - a SQL condition
    members: dict[int, int],
) -> list[int]:
    """Reject with the reason in each organisation's language and email its leads."""
    note = action.note or ""
    leads = organizations.active_leads_by_organization(members.values())
    by_locale: dict[str, list[int]] = {}
    for feedback_id, organization_id in members.items():
        locale = moderation.organization_locale(leads.get(organization_id, ()))
        by_locale.setdefault(locale, []).append(feedback_id)
    rejected: list[int] = []
    for locale, feedback_ids in sorted(by_locale.items()):  # one UPDATE per language
        rejected += moderation.decide_submitted(
            chunk & Feedback.id.in_(feedback_ids),
            FeedbackState.REJECTED,
            action.requested_by_id,
            code=action.reason_code,
            reason=moderation.rejection_text(action.reason_code, note, locale),
        )
    moderation.mail_bulk_rejections(
        action_id, rejected, code=action.reason_code, note=note, leads=leads
    )
    return rejected


def _release_cosigners(rejected: Sequence[int], actor_id: int | None) -> None:
    """A rejected position binds no co-signer (rare in a campaign: looked up set-based)."""
    if not rejected:
        return
    with_cosigners = db.session.scalars(
        select(FeedbackCosigner.feedback_id)
        .where(FeedbackCosigner.feedback_id.in_(rejected))
        .distinct()
    ).all()
    for feedback_id in with_cosigners:
        cosigning.release_cosigners(feedback_id, actor_id)


def _finish(action_id: int, token: str) -> bool:
    if not jobs.finish(BULK_ACTION, action_id, token, finished_at=utcnow()):
        db.session.rollback()
        return False
    action = db.session.get(BulkAction, action_id)
    audit.record(
        action.requested_by_id,
        "campaign.bulk_done",
        "bulk_action",
        action_id,
        after={"campaign_key": action.campaign_key, "kind": action.kind, "done": action.done},
    )
    db.session.commit()
    return True
