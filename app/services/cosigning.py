"""Joint submissions: a lead invites other organisations to co-sign its position on an item."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import Select, and_, exists, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased

from app.extensions import db
from app.models import (
    Consultation,
    ConsultationState,
    CosignState,
    Feedback,
    FeedbackCosigner,
    FeedbackState,
    Item,
    ItemVersion,
    Organization,
    Role,
    User,
    VerificationState,
)
from app.models.base import utcnow
from app.services import audit, mail
from app.services import feedback as feedback_service
from app.services.errors import Conflict, Forbidden, InvalidState, NotFound
from app.services.permissions import acting_user

# A position others may co-sign, and whose co-signers may not speak for themselves on the item.
# A withdrawn or rejected position binds nobody: its co-signers are free to submit their own.
COSIGNABLE_STATES = (
    FeedbackState.DRAFT,
    FeedbackState.SUBMITTED,
    FeedbackState.PUBLISHED,
    FeedbackState.CHANGES_REQUESTED,
)
# An organisation that has put forward its own position cannot accept to co-sign another.
OWN_POSITION_STATES = (
    FeedbackState.SUBMITTED,
    FeedbackState.PUBLISHED,
    FeedbackState.CHANGES_REQUESTED,
)


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
class CosignRequest:
    """One request to co-sign; `organization` is the other side (inviting or invited)."""

    id: int
    state: CosignState
    organization: str
    feedback: Feedback
    item: Item
    version: ItemVersion  # the item's current text, for its title
    consultation: Consultation
    created_at: datetime
    decided_at: datetime | None

    @property
    def awaiting_decision(self) -> bool:
        return self.state is CosignState.INVITED and self.feedback.state in COSIGNABLE_STATES


@dataclass(frozen=True)
class CosignedFeedback:
    """The position of another organisation that an organisation has agreed to co-sign."""

    feedback: Feedback
    organization: str


# --- inviting -----------------------------------------------------------------------------------


def invite(lead_user_id: int, item_id: int, organization_id: int) -> FeedbackCosigner:
    """The lead asks another verified organisation to co-sign its position on the item."""
    lead = _lead(lead_user_id, _("Only your organisation's lead can invite co-signers."))
    item = db.session.get(Item, item_id)
    if item is None:
        raise NotFound(_("No such item."))
    feedback = feedback_service.feedback_of_organization(lead.organization_id, item_id)
    if feedback is None or feedback.state not in COSIGNABLE_STATES:
        raise InvalidState(
            _("Save your organisation's position on this item before inviting co-signers.")
        )
    _require_open_window(item)
    own_cosigned = cosigned_feedback(lead.organization_id, item_id)
    if own_cosigned is not None:
        raise InvalidState(
            _(
                "Your organisation co-signs the position of %(name)s on this item, so it cannot"
                " invite others to co-sign a position of its own.",
                name=own_cosigned.organization,
            )
        )
    invitee = db.session.get(Organization, organization_id)
    if invitee is None:
        raise NotFound(_("No such organisation."), field="organization_id")
    _check_invitee(invitee, lead.organization_id, item_id)

    existing = db.session.scalar(
        select(FeedbackCosigner).where(
            FeedbackCosigner.feedback_id == feedback.id,
            FeedbackCosigner.organization_id == invitee.id,
        )
    )
    if existing is not None and existing.state is CosignState.INVITED:
        raise Conflict(
            _("%(name)s is already invited.", name=invitee.name), field="organization_id"
        )
    if existing is not None and existing.state is CosignState.ACCEPTED:
        raise Conflict(
            _("%(name)s already co-signs this position.", name=invitee.name),
            field="organization_id",
        )
    now = utcnow()
    if existing is None:
        cosigner = FeedbackCosigner(
            feedback_id=feedback.id, organization_id=invitee.id, created_at=now
        )
        db.session.add(cosigner)
    else:  # declined earlier: asked again
        cosigner = existing
        cosigner.created_at = now
        cosigner.decided_by_id = None
        cosigner.decided_at = None
    cosigner.state = CosignState.INVITED
    cosigner.invited_by_id = lead.id
    try:
        db.session.flush()
    except IntegrityError as error:  # another lead invited them at the same moment
        db.session.rollback()
        raise Conflict(
            _("%(name)s is already invited.", name=invitee.name), field="organization_id"
        ) from error
    audit.record(
        lead.id,
        "feedback.cosign_invite",
        "feedback",
        feedback.id,
        after={"organization_id": invitee.id, "state": cosigner.state},
    )
    _mail_invited_leads(cosigner, item, invitee, lead.organization.name)
    db.session.commit()
    return cosigner


def withdraw_invitation(lead_user_id: int, cosigner_id: int) -> Item:
    """The inviting lead takes back an unanswered invitation; returns the item it was about."""
    lead = _lead(lead_user_id, _("Only your organisation's lead can withdraw invitations."))
    cosigner = _locked_cosigner(cosigner_id)
    feedback = cosigner.feedback if cosigner is not None else None
    if feedback is None or feedback.organization_id != lead.organization_id:
        raise NotFound(_("No such invitation."))
    if cosigner.state is not CosignState.INVITED:
        raise InvalidState(_("This invitation has already been answered."))
    audit.record(
        lead.id,
        "feedback.cosign_withdraw_invitation",
        "feedback",
        feedback.id,
        before={"organization_id": cosigner.organization_id, "state": cosigner.state},
    )
    item = feedback.item
    # Deleted rather than marked: the organisation may be invited again as if never asked.
    db.session.delete(cosigner)
    db.session.commit()
    return item


def candidate_organizations(organization_id: int, item_id: int) -> list[tuple[int, str]]:
    """(id, name) of the organisations the lead may invite to co-sign, by name.

    Verified, not the own organisation, not already invited or co-signing this position, with
    no submitted position of their own on the item and co-signing no other position on it.
    """
    own_feedback_id = (
        select(Feedback.id)
        .where(Feedback.organization_id == organization_id, Feedback.item_id == item_id)
        .scalar_subquery()
    )
    already_asked = exists().where(
        FeedbackCosigner.organization_id == Organization.id,
        FeedbackCosigner.feedback_id == own_feedback_id,
        FeedbackCosigner.state.in_((CosignState.INVITED, CosignState.ACCEPTED)),
    )
    has_position = exists().where(
        Feedback.organization_id == Organization.id,
        Feedback.item_id == item_id,
        Feedback.state.in_((*OWN_POSITION_STATES, FeedbackState.REJECTED)),
    )
    cosigns_other = _accepted_cosignatures(item_id, FeedbackCosigner.id).where(
        FeedbackCosigner.organization_id == Organization.id
    )
    rows = db.session.execute(
        select(Organization.id, Organization.name)
        .where(
            Organization.verification == VerificationState.VERIFIED,
            Organization.id != organization_id,
            ~already_asked,
            ~has_position,
            ~cosigns_other.exists(),
        )
        .order_by(Organization.name)
    )
    return [(org_id, name) for org_id, name in rows]


# --- deciding -----------------------------------------------------------------------------------


def decide(lead_user_id: int, cosigner_id: int, accept: bool) -> FeedbackCosigner:
    """The invited organisation's lead accepts or declines to co-sign."""
    user = acting_user(lead_user_id, Role.STAKEHOLDER)
    cosigner = _locked_cosigner(cosigner_id)
    if cosigner is None or user.organization_id != cosigner.organization_id:
        raise NotFound(_("No such request."))
    if not user.is_lead:
        raise Forbidden(_("Only your organisation's lead can answer requests to co-sign."))
    if cosigner.state is not CosignState.INVITED:
        raise InvalidState(_("This request has already been answered."))
    feedback = cosigner.feedback
    owner = feedback.organization
    if feedback.state not in COSIGNABLE_STATES:
        raise InvalidState(
            _("%(name)s has withdrawn the position you were asked to co-sign.", name=owner.name)
        )
    _require_open_window(feedback.item)
    if accept:
        _check_may_accept(cosigner.organization_id, feedback.item_id, owner.name)
    cosigner.state = CosignState.ACCEPTED if accept else CosignState.DECLINED
    cosigner.decided_by_id = user.id
    cosigner.decided_at = utcnow()
    audit.record(
        user.id,
        "feedback.cosign_accept" if accept else "feedback.cosign_decline",
        "feedback",
        feedback.id,
        before={"organization_id": cosigner.organization_id, "state": CosignState.INVITED},
        after={"organization_id": cosigner.organization_id, "state": cosigner.state},
    )
    _mail_inviting_leads(cosigner, feedback, user.organization.name, accept)
    db.session.commit()
    return cosigner


def _check_may_accept(organization_id: int, item_id: int, owner_name: str) -> None:
    own = feedback_service.feedback_of_organization(organization_id, item_id)
    if own is not None and own.state in OWN_POSITION_STATES:
        raise InvalidState(
            _(
                "Your organisation has already submitted its own position on this item, so it"
                " cannot also co-sign the position of %(name)s.",
                name=owner_name,
            )
        )
    cosigned = cosigned_feedback(organization_id, item_id)
    if cosigned is not None:
        raise InvalidState(
            _(
                "Your organisation already co-signs the position of %(name)s on this item;"
                " it can co-sign only one position per item.",
                name=cosigned.organization,
            )
        )


# --- what co-signing means for the organisation's own position ---------------------------------


def check_may_submit_own(organization_id: int, item_id: int) -> None:
    """Refuse an own submission from an organisation that co-signs another's on the item."""
    cosigned = cosigned_feedback(organization_id, item_id)
    if cosigned is not None:
        raise InvalidState(
            _(
                "Your organisation co-signs the position of %(name)s on this item, so it cannot"
                " also submit its own.",
                name=cosigned.organization,
            ),
            field="stance",
        )


def cosigned_feedback(organization_id: int | None, item_id: int) -> CosignedFeedback | None:
    """The other organisation's position on the item that this organisation co-signs, if any."""
    if organization_id is None:
        return None
    row = db.session.execute(
        _accepted_cosignatures(item_id, Feedback, Organization.name)
        .join(Organization, Organization.id == Feedback.organization_id)
        .where(FeedbackCosigner.organization_id == organization_id)
        .order_by(FeedbackCosigner.decided_at)
        .limit(1)
    ).first()
    return CosignedFeedback(row[0], row[1]) if row is not None else None


# --- listings -----------------------------------------------------------------------------------


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


def requests_for(organization_id: int, limit: int = 200) -> list[CosignRequest]:
    """Requests the organisation received to co-sign others' positions, newest first."""
    return _requests(
        inviting_side=False,
        where=FeedbackCosigner.organization_id == organization_id,
        limit=limit,
    )


def sent_by(organization_id: int, limit: int = 200) -> list[CosignRequest]:
    """Invitations the organisation sent to co-sign its own positions, newest first."""
    return _requests(
        inviting_side=True, where=Feedback.organization_id == organization_id, limit=limit
    )


def _requests(*, inviting_side: bool, where, limit: int) -> list[CosignRequest]:  # noqa: ANN001
    other = aliased(Organization)
    other_id = FeedbackCosigner.organization_id if inviting_side else Feedback.organization_id
    rows = db.session.execute(
        select(FeedbackCosigner, Feedback, other.name, Item, ItemVersion, Consultation)
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
    )
    return [
        CosignRequest(
            id=cosigner.id,
            state=cosigner.state,
            organization=name,
            feedback=feedback,
            item=item,
            version=version,
            consultation=consultation,
            created_at=cosigner.created_at,
            decided_at=cosigner.decided_at,
        )
        for cosigner, feedback, name, item, version, consultation in rows
    ]


# --- helpers ------------------------------------------------------------------------------------


def _lead(user_id: int, refusal: str) -> User:
    user = acting_user(user_id, Role.STAKEHOLDER)
    if not user.is_lead or user.organization_id is None:
        raise Forbidden(refusal)
    return user


def _locked_cosigner(cosigner_id: int) -> FeedbackCosigner | None:
    # Locked so that two leads answering (or withdrawing) at once cannot both succeed.
    return db.session.scalar(
        select(FeedbackCosigner).where(FeedbackCosigner.id == cosigner_id).with_for_update()
    )


def _require_open_window(item: Item) -> None:
    if item.consultation.state_at(utcnow()) is not ConsultationState.OPEN:
        raise InvalidState(_("This consultation is not open for feedback."))


def _accepted_cosignatures(item_id: int, *columns) -> Select:  # noqa: ANN002
    """`columns` of the accepted co-signatures of live positions on the item."""
    return (
        select(*columns)
        .select_from(FeedbackCosigner)
        .join(Feedback, Feedback.id == FeedbackCosigner.feedback_id)
        .where(
            Feedback.item_id == item_id,
            Feedback.state.in_(COSIGNABLE_STATES),
            FeedbackCosigner.state == CosignState.ACCEPTED,
        )
    )


def _check_invitee(invitee: Organization, own_organization_id: int, item_id: int) -> None:
    if invitee.id == own_organization_id:
        raise InvalidState(
            _("Your own organisation cannot co-sign its own position."), field="organization_id"
        )
    if invitee.verification is not VerificationState.VERIFIED:
        raise InvalidState(
            _(
                "%(name)s is not verified yet; only verified organisations can co-sign.",
                name=invitee.name,
            ),
            field="organization_id",
        )
    theirs = feedback_service.feedback_of_organization(invitee.id, item_id)
    if theirs is not None and theirs.state is not FeedbackState.WITHDRAWN and not _empty(theirs):
        raise InvalidState(
            _(
                "%(name)s already has its own position on this item, so it cannot co-sign yours.",
                name=invitee.name,
            ),
            field="organization_id",
        )
    if cosigned_feedback(invitee.id, item_id) is not None:
        raise InvalidState(
            _(
                "%(name)s already co-signs another organisation's position on this item.",
                name=invitee.name,
            ),
            field="organization_id",
        )


def _empty(feedback: Feedback) -> bool:
    """A draft with nothing in it yet, which does not count as a position."""
    return (
        feedback.state is FeedbackState.DRAFT
        and feedback.stance is None
        and feedback.priority is None
        and not (feedback.comment or "").strip()
        and not (feedback.amendment or "").strip()
        and not feedback.affected_populations
        and not feedback.countries
        and not feedback.evidence_links
        and not feedback.attachments
    )


def _active_leads(organization_id: int) -> list[User]:
    return list(
        db.session.scalars(
            select(User)
            .where(
                User.organization_id == organization_id,
                User.is_lead.is_(True),
                User.active.is_(True),
            )
            .order_by(User.id)
        )
    )


def _stamp(moment: datetime) -> str:
    return f"{moment:%Y%m%d%H%M%S%f}"


def _current_version(item: Item) -> ItemVersion:
    return next(v for v in item.versions if v.number == item.current_version)


def _mail_invited_leads(
    cosigner: FeedbackCosigner, item: Item, invitee: Organization, inviter_name: str
) -> None:
    version = _current_version(item)
    link = mail.absolute_url("cosigning.requests")
    for lead in _active_leads(invitee.id):
        mail.queue_email(
            "cosign_request",
            lead.email,
            lead.locale,
            # A re-invitation after a decline is a new message.
            dedupe_key=f"cosign-request:{cosigner.id}:{lead.id}:{_stamp(cosigner.created_at)}",
            user_id=lead.id,
            name=lead.name,
            inviter=inviter_name,
            organization=invitee.name,
            code=item.code,
            title=version.title_in(lead.locale),
            consultation=item.consultation.title_in(lead.locale),
            link=link,
        )


def _mail_inviting_leads(
    cosigner: FeedbackCosigner, feedback: Feedback, decider_name: str, accepted: bool
) -> None:
    item = feedback.item
    version = _current_version(item)
    link = mail.absolute_url("feedback.edit", slug=item.consultation.slug, code=item.code)
    for lead in _active_leads(feedback.organization_id):
        mail.queue_email(
            "cosign_decided",
            lead.email,
            lead.locale,
            dedupe_key=f"cosign-decided:{cosigner.id}:{lead.id}:{_stamp(cosigner.decided_at)}",
            user_id=lead.id,
            name=lead.name,
            organization=decider_name,
            accepted=accepted,
            code=item.code,
            title=version.title_in(lead.locale),
            link=link,
        )
