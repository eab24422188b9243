"""The council's response per item or theme: "we asked, you said, we did".

A response is a draft until the council publishes it; published, it shows on the item page and
is never edited (a later response supersedes it). Publishing tells the organisations concerned
by email: those whose submissions it answers, or every organisation that gave feedback on the
item when it names none. The emails are queued by a worker task, in batches, so a campaign of
100,000 organisations never weighs on a web request; `notified_at` records that it finished,
and a periodic reconciler re-sends a task that was lost.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import or_, select

from app import audit
from app.accounts.permissions import acting_user
from app.errors import DomainError, InvalidState, NotFound
from app.extensions import db
from app.jobs import enqueue_after_commit
from app.models import (
    CosignState,
    CouncilResponse,
    Decision,
    Feedback,
    FeedbackCosigner,
    FeedbackState,
    Item,
    Role,
    User,
)
from app.models.base import utcnow
from app.models.council_response import council_response_feedback
from app.notifications import mail

WRITERS = (Role.COUNCIL, Role.ADMIN)
NOTIFY_TASK = "worker.council.notify_response"
# What a response may answer: positions put forward for review or published.
ANSWERABLE = (FeedbackState.SUBMITTED, FeedbackState.PUBLISHED)
MAX_REFERENCES = 500
NOTIFY_BATCH = 500
RENOTIFY_AFTER = timedelta(minutes=5)
REFERENCE_SEPARATORS = re.compile(r"[\s,;]+")


@dataclass(frozen=True)
class ResponseInput:
    decision: Decision
    rationale: str
    theme: str = ""
    references: str = ""  # feedback references separated by commas, spaces or new lines


@dataclass(frozen=True)
class ResponseView:
    id: int
    decision: str
    theme: str | None
    rationale: str
    created_at: datetime
    published_at: datetime | None
    notified_at: datetime | None
    references: list[str]


def responses_for_item(user_id: int, item_id: int) -> list[ResponseView]:
    """Every response on the item, drafts included, newest first, with what each answers."""
    acting_user(user_id, *WRITERS)
    _item(item_id)
    responses = db.session.scalars(
        select(CouncilResponse)
        .where(CouncilResponse.item_id == item_id)
        .order_by(CouncilResponse.id.desc())
    ).all()
    references = _references_of([response.id for response in responses])
    return [
        ResponseView(
            id=response.id,
            decision=response.decision.value,
            theme=response.theme,
            rationale=response.rationale,
            created_at=response.created_at,
            published_at=response.published_at,
            notified_at=response.notified_at,
            references=references.get(response.id, []),
        )
        for response in responses
    ]


def record_response(
    user_id: int, item_id: int, data: ResponseInput, *, publish: bool
) -> CouncilResponse:
    """A new response on the item, published at once or kept as a draft."""
    user = acting_user(user_id, *WRITERS)
    item = _item(item_id)
    rationale = data.rationale.strip()
    if not rationale:
        raise DomainError(_("Explain the decision: the rationale is required."), field="rationale")
    answered = _answered_ids(item.id, data.references)
    response = CouncilResponse(
        consultation_id=item.consultation_id,
        item_id=item.id,
        theme=data.theme.strip() or None,
        decision=data.decision,
        rationale=rationale,
        responded_by_id=user.id,
    )
    db.session.add(response)
    db.session.flush()
    if answered:
        db.session.execute(
            council_response_feedback.insert(),
            [{"council_response_id": response.id, "feedback_id": fid} for fid in answered],
        )
    audit.record(
        user.id,
        "council_response.create",
        "council_response",
        response.id,
        after={
            "item": item.code,
            "decision": data.decision.value,
            "theme": response.theme,
            "answers": len(answered),
        },
    )
    if publish:
        _publish(user.id, response)
    db.session.commit()
    return response


def publish_response(user_id: int, response_id: int) -> None:
    """Publish a draft; publishing twice is refused with a clear message."""
    user = acting_user(user_id, *WRITERS)
    response = db.session.get(CouncilResponse, response_id, with_for_update=True)
    if response is None:
        raise NotFound(_("No such response."))
    if response.published_at is not None:
        raise InvalidState(_("This response is already published."))
    _publish(user.id, response)
    db.session.commit()


def item_of(response_id: int) -> int | None:
    return db.session.scalar(
        select(CouncilResponse.item_id).where(CouncilResponse.id == response_id)
    )


def _publish(user_id: int, response: CouncilResponse) -> None:
    response.published_at = utcnow()
    audit.record(
        user_id,
        "council_response.publish",
        "council_response",
        response.id,
        after={"published_at": response.published_at},
    )
    enqueue_after_commit(NOTIFY_TASK, response.id)


# --- telling the organisations concerned (worker) -------------------------------------------


def notify_concerned(response_id: int, batch: int = NOTIFY_BATCH) -> int:
    """Queue an email to each active lead of every organisation concerned; the number queued.

    One transaction holding the response's row lock: a second run at the same moment (the
    reconciler's) skips it, and a run cut short leaves nothing half-done. Each (response,
    person) also has its own dedupe key, so nobody is mailed twice.
    """
    response = db.session.scalar(
        select(CouncilResponse)
        .where(CouncilResponse.id == response_id)
        .with_for_update(skip_locked=True)
    )
    if response is None or response.published_at is None or response.notified_at is not None:
        db.session.rollback()
        return 0
    item = db.session.get(Item, response.item_id)
    version = next(v for v in item.versions if v.number == item.current_version)
    link = mail.absolute_url("consultations.item", slug=item.consultation.slug, code=item.code)
    queued = 0
    for leads in _lead_batches(response, batch):
        for lead in leads:
            sent = mail.queue_email(
                "council_response",
                lead.email,
                lead.locale,
                dedupe_key=f"council-response:{response.id}:user:{lead.id}",
                user_id=lead.id,
                name=lead.name,
                code=item.code,
                title=version.title_in(lead.locale),
                decision=response.decision.value,
                theme=response.theme or "",
                rationale=response.rationale,
                link=link,
            )
            queued += sent is not None
    response.notified_at = utcnow()
    db.session.commit()
    return queued


def reconcile_notifications() -> list[int]:
    """Published responses whose notification task was lost, sent again."""
    stale = list(
        db.session.scalars(
            select(CouncilResponse.id).where(
                CouncilResponse.published_at.is_not(None),
                CouncilResponse.notified_at.is_(None),
                CouncilResponse.published_at < utcnow() - RENOTIFY_AFTER,
            )
        )
    )
    for response_id in stale:
        enqueue_after_commit(NOTIFY_TASK, response_id)
    db.session.commit()
    return stale


def _lead_batches(response: CouncilResponse, batch: int) -> Iterator[list[User]]:
    """The active leads of the organisations concerned, `batch` organisations at a time."""
    answered = select(council_response_feedback.c.feedback_id).where(
        council_response_feedback.c.council_response_id == response.id
    )
    has_answers = db.session.scalar(answered.limit(1)) is not None
    positions = select(Feedback.id).where(
        Feedback.item_id == response.item_id, Feedback.state.in_(ANSWERABLE)
    )
    if has_answers:
        positions = positions.where(Feedback.id.in_(answered))
    authors = select(Feedback.organization_id).where(Feedback.id.in_(positions))
    cosigners = select(FeedbackCosigner.organization_id).where(
        FeedbackCosigner.feedback_id.in_(positions),
        FeedbackCosigner.state == CosignState.ACCEPTED,
    )
    after = 0
    while True:
        organizations = list(
            db.session.scalars(
                select(User.organization_id)
                .where(
                    or_(User.organization_id.in_(authors), User.organization_id.in_(cosigners)),
                    User.organization_id > after,
                )
                .group_by(User.organization_id)
                .order_by(User.organization_id)
                .limit(batch)
            )
        )
        if not organizations:
            return
        after = organizations[-1]
        yield list(
            db.session.scalars(
                select(User)
                .where(
                    User.organization_id.in_(organizations),
                    User.is_lead.is_(True),
                    User.active.is_(True),
                )
                .order_by(User.id)
            )
        )


# --- helpers ---------------------------------------------------------------------------------


def _answered_ids(item_id: int, raw: str) -> list[int]:
    """The ids of the submissions named by reference; unknown ones are an error on the field."""
    references = sorted({ref.upper() for ref in REFERENCE_SEPARATORS.split(raw) if ref})
    if not references:
        return []
    if len(references) > MAX_REFERENCES:
        raise DomainError(
            _("Name at most %(max)s submissions in one response.", max=MAX_REFERENCES),
            field="references",
        )
    found = dict(
        db.session.execute(
            select(Feedback.reference, Feedback.id).where(
                Feedback.item_id == item_id,
                Feedback.state.in_(ANSWERABLE),
                Feedback.reference.in_(references),
            )
        ).all()
    )
    unknown = [ref for ref in references if ref not in found]
    if unknown:
        raise DomainError(
            _(
                "No submission on this item has the reference %(refs)s.",
                refs=", ".join(unknown[:10]),
            ),
            field="references",
        )
    return sorted(found.values())


def _references_of(response_ids: list[int]) -> dict[int, list[str]]:
    found: dict[int, list[str]] = {}
    if not response_ids:
        return found
    rows = db.session.execute(
        select(council_response_feedback.c.council_response_id, Feedback.reference)
        .join(Feedback, Feedback.id == council_response_feedback.c.feedback_id)
        .where(council_response_feedback.c.council_response_id.in_(response_ids))
        .order_by(Feedback.reference)
    )
    for response_id, reference in rows:
        found.setdefault(response_id, []).append(reference)
    return found


def _item(item_id: int) -> Item:
    item = db.session.get(Item, item_id)
    if item is None:
        raise NotFound(_("No such item."))
    return item
