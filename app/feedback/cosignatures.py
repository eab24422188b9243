"""Who co-signs what, as the pages show it: an organisation's co-signers, the requests it sent
and received with the shared text, and the co-signers' names beside a published position."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, select
from sqlalchemy.orm import aliased

from app.analysis.redaction import apply_redactions
from app.extensions import db
from app.feedback import positions
from app.feedback.positions import COSIGNABLE_STATES
from app.models import (
    Consultation,
    ConsultationState,
    CosignState,
    Disclosure,
    Feedback,
    FeedbackCosigner,
    FeedbackState,
    Item,
    ItemVersion,
    Organization,
    Stance,
    User,
)
from app.models.base import utcnow


@dataclass(frozen=True)
class Cosigner:
    """An organisation asked to co-sign one feedback, as its owner sees it."""

    id: int
    organization_id: int
    organization: str
    state: CosignState
    created_at: datetime
    decided_at: datetime | None


@dataclass(frozen=True)
class SharedText:
    """One free-text field of a position as the other organisation may read it.

    `text` has the moderators' redactions applied; it is empty when `council_only` (the author
    shared the field with the council only, so it is withheld here too).
    """

    text: str
    council_only: bool

    @property
    def shown(self) -> bool:
        return self.council_only or bool(self.text.strip())


@dataclass(frozen=True)
class CosignPosition:
    """What a request to co-sign shows of the position it is about: never the row itself.

    `comment` and `amendment` are None when the viewer may not read the text: it is read only
    by the invited organisation's lead while the request awaits an answer, or by the invited
    organisation once it co-signs, and never once the position is withdrawn or rejected.
    """

    state: FeedbackState
    stance: Stance | None
    priority: int | None
    comment: SharedText | None = None
    amendment: SharedText | None = None

    @property
    def has_text(self) -> bool:
        return any(field is not None and field.shown for field in (self.comment, self.amendment))


@dataclass(frozen=True)
class CosignRequest:
    """One request to co-sign; `organization` is the other side (inviting or invited)."""

    id: int
    state: CosignState
    organization: str
    position: CosignPosition
    item: Item
    version: ItemVersion  # the item's current text, for its title
    consultation: Consultation
    created_at: datetime
    decided_at: datetime | None

    @property
    def awaiting_decision(self) -> bool:
        return self.state is CosignState.INVITED and self.position.state in COSIGNABLE_STATES

    @property
    def may_accept(self) -> bool:
        """Awaiting an answer and submitted: a draft cannot be co-signed yet, only declined."""
        return self.awaiting_decision and self.position.state is not FeedbackState.DRAFT

    @property
    def may_leave(self) -> bool:
        """Co-signed while the comment window is open: the organisation may stop co-signing."""
        return (
            self.state is CosignState.ACCEPTED
            and self.consultation.state_at(utcnow()) is ConsultationState.OPEN
        )


def cosigners_of(feedback_id: int) -> list[Cosigner]:
    """Every organisation asked to co-sign the feedback, in every state, by name."""
    rows = db.session.execute(
        select(FeedbackCosigner, Organization.name)
        .join(Organization, Organization.id == FeedbackCosigner.organization_id)
        .where(FeedbackCosigner.feedback_id == feedback_id)
        .order_by(Organization.name)
    )
    return [
        Cosigner(
            id=cosigner.id,
            organization_id=cosigner.organization_id,
            organization=name,
            state=cosigner.state,
            created_at=cosigner.created_at,
            decided_at=cosigner.decided_at,
        )
        for cosigner, name in rows
    ]


def accepted_cosigner_names(feedback_ids: list[int]) -> dict[int, list[str]]:
    """Feedback id → names of the organisations that co-sign it, by name; one query."""
    if not feedback_ids:
        return {}
    rows = db.session.execute(
        select(FeedbackCosigner.feedback_id, Organization.name)
        .join(Organization, Organization.id == FeedbackCosigner.organization_id)
        .where(
            FeedbackCosigner.feedback_id.in_(feedback_ids),
            FeedbackCosigner.state == CosignState.ACCEPTED,
        )
        .order_by(FeedbackCosigner.feedback_id, Organization.name)
    )
    names: dict[int, list[str]] = {}
    for feedback_id, name in rows:
        names.setdefault(feedback_id, []).append(name)
    return names


def requests_for(
    organization_id: int, *, viewer_id: int | None = None, limit: int = 200
) -> list[CosignRequest]:
    """Requests the organisation received to co-sign others' positions, newest first.

    `viewer_id` is the member looking: the text of a position awaiting an answer is shown to
    the organisation's leads only (without a viewer, to nobody); once the organisation co-signs,
    to all its members. Only what the author made public is shown, as moderators redacted it.
    """
    viewer = db.session.get(User, viewer_id) if viewer_id is not None else None
    viewer_is_lead = bool(
        viewer is not None and viewer.is_lead and viewer.organization_id == organization_id
    )
    return _requests(
        inviting_side=False,
        where=FeedbackCosigner.organization_id == organization_id,
        limit=limit,
        viewer_is_lead=viewer_is_lead,
    )


def sent_by(organization_id: int, limit: int = 200) -> list[CosignRequest]:
    """Invitations the organisation sent to co-sign its own positions, newest first.

    Its own positions' text is not repeated here (`comment` and `amendment` are None).
    """
    return _requests(
        inviting_side=True,
        where=Feedback.organization_id == organization_id,
        limit=limit,
        viewer_is_lead=False,
    )


def _requests(
    *,
    inviting_side: bool,
    where,  # noqa: ANN001
    limit: int,
    viewer_is_lead: bool,
) -> list[CosignRequest]:
    other = aliased(Organization)
    other_id = FeedbackCosigner.organization_id if inviting_side else Feedback.organization_id
    rows = db.session.execute(
        select(
            FeedbackCosigner.id,
            FeedbackCosigner.state,
            FeedbackCosigner.created_at,
            FeedbackCosigner.decided_at,
            # Only these columns of the position, never its row: see CosignPosition.
            Feedback.id.label("feedback_id"),
            Feedback.state.label("feedback_state"),
            Feedback.stance,
            Feedback.priority,
            Feedback.comment,
            Feedback.comment_disclosure,
            Feedback.amendment,
            Feedback.amendment_disclosure,
            other.name.label("organization"),
            Item,
            ItemVersion,
            Consultation,
        )
        .join(Feedback, Feedback.id == FeedbackCosigner.feedback_id)
        .join(other, other.id == other_id)
        .join(Item, Item.id == Feedback.item_id)
        .join(
            ItemVersion,
            and_(ItemVersion.item_id == Item.id, ItemVersion.number == Item.current_version),
        )
        .join(Consultation, Consultation.id == Item.consultation_id)
        .where(where)
        .order_by(FeedbackCosigner.created_at.desc(), FeedbackCosigner.id.desc())
        .limit(limit)
    ).all()

    def readable(row) -> bool:  # noqa: ANN001
        """The invited side reads a live position's text: its lead while asked, all once signed."""
        if inviting_side or row.feedback_state not in COSIGNABLE_STATES:
            return False
        return row.state is CosignState.ACCEPTED or (
            row.state is CosignState.INVITED and viewer_is_lead
        )

    spans = positions.redacted_spans([row.feedback_id for row in rows if readable(row)])

    def position(row) -> CosignPosition:  # noqa: ANN001
        if not readable(row):
            return CosignPosition(row.feedback_state, row.stance, row.priority)
        return CosignPosition(
            row.feedback_state,
            row.stance,
            row.priority,
            comment=_shared_text(
                row.comment, row.comment_disclosure, spans.get((row.feedback_id, "comment"))
            ),
            amendment=_shared_text(
                row.amendment, row.amendment_disclosure, spans.get((row.feedback_id, "amendment"))
            ),
        )

    return [
        CosignRequest(
            id=row.id,
            state=row.state,
            organization=row.organization,
            position=position(row),
            item=row.Item,
            version=row.ItemVersion,
            consultation=row.Consultation,
            created_at=row.created_at,
            decided_at=row.decided_at,
        )
        for row in rows
    ]


def _shared_text(
    text: str | None, disclosure: Disclosure, spans: list[tuple[int, int]] | None
) -> SharedText:
    text = text or ""
    if disclosure is not Disclosure.PUBLIC:
        return SharedText(text="", council_only=bool(text.strip()))
    return SharedText(text=apply_redactions(text, spans or []), council_only=False)
