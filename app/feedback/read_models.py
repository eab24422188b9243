"""Read models of an organisation's feedback: its revision history and the dashboard."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import select

from app.accounts.permissions import acting_user
from app.analysis.textdiff import word_diff
from app.errors import NotFound
from app.extensions import db
from app.feedback import cosignatures, cosigning
from app.feedback.positions import feedback_of_organization
from app.models import (
    Consultation,
    CosignState,
    Feedback,
    FeedbackCosigner,
    FeedbackRevision,
    FeedbackState,
    Item,
    ItemVersion,
    Organization,
    Role,
    User,
)

TEXT_FIELDS = ("comment", "amendment")
# The structured fields a revision may change, in the order the form shows them.
OTHER_FIELDS = (
    "state",
    "stance",
    "priority",
    "affected_populations",
    "countries",
    "comment_disclosure",
    "amendment_disclosure",
    "evidence_links",
    "attribution",
    "item_version_id",
    "attachments",
)


@dataclass(frozen=True)
class Change:
    field: str
    before: object
    after: object
    diff: list[tuple[str, str]] | None = None  # word runs, for the free-text fields


@dataclass(frozen=True)
class RevisionEntry:
    number: int
    author: str | None  # None once the author deleted their account
    created_at: datetime
    state: str
    changes: list[Change]


@dataclass(frozen=True)
class History:
    feedback: Feedback
    entries: list[RevisionEntry]  # newest first


def revision_history(user_id: int, item_id: int) -> History:
    """Every revision of our organisation's position on the item: who, when, and what changed."""
    user = acting_user(user_id, Role.STAKEHOLDER)
    feedback = feedback_of_organization(user.organization_id, item_id)
    if feedback is None:
        raise NotFound(_("Your organisation has no feedback on this item."))
    rows = db.session.execute(
        select(FeedbackRevision, User.name)
        .outerjoin(User, User.id == FeedbackRevision.author_id)
        .where(FeedbackRevision.feedback_id == feedback.id)
        .order_by(FeedbackRevision.number)
    ).all()
    entries, previous = [], {}
    for revision, author in rows:
        entries.append(
            RevisionEntry(
                number=revision.number,
                author=author,
                created_at=revision.created_at,
                state=str(revision.snapshot.get("state")),
                changes=changes_between(previous, revision.snapshot),
            )
        )
        previous = revision.snapshot
    return History(feedback=feedback, entries=entries[::-1])


def changes_between(before: dict[str, object], after: dict[str, object]) -> list[Change]:
    """The fields that differ between two snapshots; free text gets a word-level diff."""
    changes = []
    for name in TEXT_FIELDS:
        old, new = str(before.get(name) or ""), str(after.get(name) or "")
        if old != new:
            changes.append(Change(name, old, new, word_diff(old, new)))
    for name in OTHER_FIELDS:
        if before.get(name) != after.get(name):
            changes.append(Change(name, before.get(name), after.get(name)))
    return changes


# --- the organisation's dashboard ------------------------------------------------------------


@dataclass(frozen=True)
class DashboardRow:
    item_id: int
    code: str
    title: str
    state: str  # "none" when the organisation has not started
    reference: str | None
    reason: str | None  # the moderator's message on a rejection or a request for changes
    updated_at: datetime | None
    cosigns_with: str | None = None  # the organisation whose position on the item we co-sign


@dataclass(frozen=True)
class DashboardSection:
    consultation: Consultation
    rows: list[DashboardRow] = field(default_factory=list)

    def count(self, state: str) -> int:
        return sum(1 for row in self.rows if row.state == state)


@dataclass(frozen=True)
class Dashboard:
    organization_name: str
    is_lead: bool
    sections: list[DashboardSection]
    cosign_requests: list[cosignatures.CosignRequest]  # awaiting our lead's answer


def organization_dashboard(user_id: int, locale: str) -> Dashboard:
    """Every item of every consultation with our organisation's state on it (three queries)."""
    user = acting_user(user_id, Role.STAKEHOLDER)
    if user.organization_id is None:
        raise NotFound(_("You do not belong to an organisation yet."))
    consultations = db.session.scalars(
        select(Consultation).order_by(Consultation.closes_at.desc(), Consultation.id)
    ).all()
    items = db.session.execute(
        select(Item.id, Item.consultation_id, Item.code, ItemVersion.title)
        .join(
            ItemVersion,
            (ItemVersion.item_id == Item.id) & (ItemVersion.number == Item.current_version),
        )
        .order_by(Item.consultation_id, Item.position, Item.id)
    ).all()
    ours = {
        row.item_id: row
        for row in db.session.execute(
            select(
                Feedback.item_id,
                Feedback.state,
                Feedback.reference,
                Feedback.moderation_reason,
                Feedback.updated_at,
            ).where(Feedback.organization_id == user.organization_id)
        )
    }
    cosigned = _cosigned_items(user.organization_id)
    sections = {c.id: DashboardSection(c) for c in consultations}
    for item_id, consultation_id, code, titles in items:
        mine = ours.get(item_id)
        sections[consultation_id].rows.append(
            DashboardRow(
                item_id=item_id,
                code=code,
                title=(titles or {}).get(locale) or (titles or {}).get("en", ""),
                state=mine.state.value if mine else "none",
                reference=mine.reference if mine else None,
                reason=mine.moderation_reason
                if mine and mine.state in (FeedbackState.REJECTED, FeedbackState.CHANGES_REQUESTED)
                else None,
                updated_at=mine.updated_at if mine else None,
                cosigns_with=cosigned.get(item_id),
            )
        )
    return Dashboard(
        organization_name=user.organization.name,
        is_lead=user.is_lead,
        sections=list(sections.values()),
        cosign_requests=[
            request
            for request in cosignatures.requests_for(user.organization_id)
            if request.awaiting_decision
        ],
    )


def _cosigned_items(organization_id: int) -> dict[int, str]:
    """Item id → the organisation whose position on it we co-sign."""
    rows = db.session.execute(
        select(Feedback.item_id, Organization.name)
        .select_from(FeedbackCosigner)
        .join(Feedback, Feedback.id == FeedbackCosigner.feedback_id)
        .join(Organization, Organization.id == Feedback.organization_id)
        .where(
            FeedbackCosigner.organization_id == organization_id,
            FeedbackCosigner.state == CosignState.ACCEPTED,
            Feedback.state.in_(cosigning.COSIGNABLE_STATES),
        )
    )
    return {item_id: name for item_id, name in rows}
