"""Joint submissions: a lead invites other organisations to co-sign its position on an item,
they accept or leave, and what co-signing means for their own positions.

Kept whole: inviting, deciding and the rules for an organisation's own position share the
locking and eligibility helpers at the bottom. What the pages list is in cosignatures.py."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import Select, exists, select
from sqlalchemy.exc import IntegrityError

from app import audit
from app.accounts.permissions import acting_user
from app.errors import Conflict, Forbidden, InvalidState, NotFound
from app.extensions import db
from app.feedback import positions
from app.feedback.positions import COSIGNABLE_STATES
from app.models import (
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
from app.models.feedback import PUT_FORWARD_STATES
from app.notifications import mail
from app.organizations import services as organizations

# An organisation that has put forward its own position cannot accept to co-sign another.
OWN_POSITION_STATES = PUT_FORWARD_STATES


@dataclass(frozen=True)
class CosignedFeedback:
    """The position of another organisation that an organisation has agreed to co-sign."""

    feedback: Feedback
    organization: str


# --- inviting -----------------------------------------------------------------------------------


def inviting_lead(user_id: int) -> User:
    """The organisation's lead, the one who may invite co-signers; Forbidden otherwise."""
    return _lead(user_id, _("Only your organisation's lead can invite co-signers."))


def invite(lead_user_id: int, item_id: int, organization_id: int) -> FeedbackCosigner:
    """The lead asks another verified organisation to co-sign its position on the item."""
    lead = inviting_lead(lead_user_id)
    item = db.session.get(Item, item_id)
    if item is None:
        raise NotFound(_("No such item."))
    feedback = positions.feedback_of_organization(lead.organization_id, item_id)
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
    _check_invitee_is_eligible(invitee, lead.organization_id)

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
    _check_invitee_is_free(invitee, item_id)
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
    no submitted (or published, or sent back) position of their own on the item and co-signing
    no other position on it. Drafts and rejected positions are private to their organisation,
    so they never change the list: `invite` refuses an organisation with a draft in the same
    words as for every other reason it does not tell.
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
        Feedback.state.in_(OWN_POSITION_STATES),
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
        if feedback.state is FeedbackState.DRAFT:
            # A draft may never be submitted, and co-signing it would bar the organisation
            # from submitting its own position meanwhile.
            raise InvalidState(
                _(
                    "%(name)s has not submitted this position yet: it must be submitted before"
                    " your organisation can co-sign it.",
                    name=owner.name,
                )
            )
        # Serialised per organisation with its own submissions and its other acceptances.
        _lock_organization(cosigner.organization_id)
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
    _mail_inviting_leads(cosigner, feedback, user.organization.name, accepted=accept)
    db.session.commit()
    return cosigner


def leave(lead_user_id: int, cosigner_id: int) -> FeedbackCosigner:
    """The co-signing organisation's lead stops co-signing, while the window is open.

    The co-signature becomes a declined one: the organisation is no longer listed or counted
    with the position, may submit its own, and may be invited again.
    """
    user = acting_user(lead_user_id, Role.STAKEHOLDER)
    cosigner = _locked_cosigner(cosigner_id)
    if cosigner is None or user.organization_id != cosigner.organization_id:
        raise NotFound(_("No such request."))
    if not user.is_lead:
        raise Forbidden(_("Only your organisation's lead can stop co-signing a position."))
    if cosigner.state is not CosignState.ACCEPTED:
        raise InvalidState(_("Your organisation does not co-sign this position."))
    feedback = cosigner.feedback
    _require_open_window(feedback.item)
    cosigner.state = CosignState.DECLINED
    cosigner.decided_by_id = user.id
    cosigner.decided_at = utcnow()
    audit.record(
        user.id,
        "feedback.cosign_leave",
        "feedback",
        feedback.id,
        before={"organization_id": cosigner.organization_id, "state": CosignState.ACCEPTED},
        after={"organization_id": cosigner.organization_id, "state": cosigner.state},
    )
    _mail_inviting_leads(cosigner, feedback, user.organization.name, accepted=False, left=True)
    db.session.commit()
    return cosigner


def _check_may_accept(organization_id: int, item_id: int, owner_name: str) -> None:
    own = positions.feedback_of_organization(organization_id, item_id)
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


def lock_for_own_submission(organization_id: int, item_id: int) -> Organization:
    """Lock the organisation's row for its own submission, and refuse that submission when the
    organisation is suspended or co-signs another organisation's position on the item.

    Called inside the submission's transaction before it writes: the organisation's row stays
    locked until that commit, so no acceptance of its lead can slip in between.
    """
    organization = organizations.lock_for_submission(organization_id)
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
    return organization


def release_cosigners(feedback_id: int, actor_id: int) -> None:
    """Let go of every organisation asked to co-sign the feedback (withdrawn or rejected).

    Each is recorded in the audit log and deleted, so none stays bound or counted and each may
    be invited afresh. Nothing is committed: the caller does, with the change that released them.
    """
    for cosigner in _locked_cosigners_of(feedback_id):
        audit.record(
            actor_id,
            "feedback.cosigners_released",
            "feedback",
            feedback_id,
            before={"organization_id": cosigner.organization_id, "state": cosigner.state},
            after=None,
        )
        db.session.delete(cosigner)
    db.session.flush()


def reconfirm_cosigners(feedback_id: int, actor_id: int) -> None:
    """Ask the co-signers again after the position's stance changed.

    Every accepted co-signature goes back to an invitation awaiting an answer, and the leads of
    those organisations are mailed the request again. Nothing is committed: the caller does.
    """
    feedback = db.session.get(Feedback, feedback_id)
    if feedback is None:
        return
    now = utcnow()
    for cosigner in _locked_cosigners_of(feedback_id):
        if cosigner.state is not CosignState.ACCEPTED:
            continue
        audit.record(
            actor_id,
            "feedback.cosign_reconfirm",
            "feedback",
            feedback_id,
            before={"organization_id": cosigner.organization_id, "state": cosigner.state},
            after={"organization_id": cosigner.organization_id, "state": CosignState.INVITED},
        )
        cosigner.state = CosignState.INVITED
        cosigner.decided_by_id = None
        cosigner.decided_at = None
        cosigner.created_at = now  # asked anew: also the time in the mail's dedupe key
        _mail_invited_leads(
            cosigner,
            feedback.item,
            cosigner.organization,
            feedback.organization.name,
            changed=True,
        )
    db.session.flush()


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


def cosigned_items(organization_id: int, item_ids: set[int]) -> dict[int, str]:
    """Of `item_ids`, those where this organisation co-signs another's position: item id ->
    the name of the organisation it co-signs (one query, for a batch)."""
    rows = db.session.execute(
        select(Feedback.item_id, Organization.name)
        .select_from(FeedbackCosigner)
        .join(Feedback, Feedback.id == FeedbackCosigner.feedback_id)
        .join(Organization, Organization.id == Feedback.organization_id)
        .where(
            Feedback.item_id.in_(item_ids),
            Feedback.state.in_(COSIGNABLE_STATES),
            FeedbackCosigner.state == CosignState.ACCEPTED,
            FeedbackCosigner.organization_id == organization_id,
        )
    )
    return {item_id: name for item_id, name in rows}


# --- listings -----------------------------------------------------------------------------------


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


def _locked_cosigners_of(feedback_id: int) -> list[FeedbackCosigner]:
    return list(
        db.session.scalars(
            select(FeedbackCosigner)
            .where(FeedbackCosigner.feedback_id == feedback_id)
            .order_by(FeedbackCosigner.id)
            .with_for_update()
        )
    )


def _lock_organization(organization_id: int) -> None:
    """Hold the organisation's row until commit: its acceptances and own submissions on an item
    are decided one at a time (PostgreSQL; SQLite ignores FOR UPDATE but serialises writers).
    """
    db.session.execute(
        select(Organization.id).where(Organization.id == organization_id).with_for_update()
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


def _check_invitee_is_eligible(invitee: Organization, own_organization_id: int) -> None:
    """Refusals the candidate list shows openly: the own organisation, an unverified one."""
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


def _check_invitee_is_free(invitee: Organization, item_id: int) -> None:
    """Refuse an organisation bound on the item, without telling how.

    A draft, or a co-signature of a position not yet published, is the other organisation's
    own business: every such reason gets the same words.
    """
    theirs = positions.feedback_of_organization(invitee.id, item_id)
    has_position = theirs is not None and (
        theirs.state in OWN_POSITION_STATES
        or (theirs.state is FeedbackState.DRAFT and not _empty(theirs))
    )
    if has_position or cosigned_feedback(invitee.id, item_id) is not None:
        raise InvalidState(
            _("%(name)s cannot be invited to co-sign on this item.", name=invitee.name),
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


def _stamp(moment: datetime) -> str:
    return f"{moment:%Y%m%d%H%M%S%f}"


def _current_version(item: Item) -> ItemVersion:
    return next(v for v in item.versions if v.number == item.current_version)


def _mail_invited_leads(
    cosigner: FeedbackCosigner,
    item: Item,
    invitee: Organization,
    inviter_name: str,
    *,
    changed: bool = False,
) -> None:
    """`changed`: the organisation co-signed, and is asked again because the position changed."""
    version = _current_version(item)
    link = mail.absolute_url("cosigning.requests")
    for lead in organizations.active_leads(invitee.id):
        mail.queue_email(
            "cosign_request",
            lead.email,
            lead.locale,
            # A re-invitation after a decline, or after a change, is a new message.
            dedupe_key=f"cosign-request:{cosigner.id}:{lead.id}:{_stamp(cosigner.created_at)}",
            user_id=lead.id,
            name=lead.name,
            inviter=inviter_name,
            organization=invitee.name,
            code=item.code,
            title=version.title_in(lead.locale),
            consultation=item.consultation.title_in(lead.locale),
            link=link,
            changed=changed,
        )


def _mail_inviting_leads(
    cosigner: FeedbackCosigner,
    feedback: Feedback,
    decider_name: str,
    *,
    accepted: bool,
    left: bool = False,
) -> None:
    """`left`: the organisation had co-signed and stopped."""
    item = feedback.item
    version = _current_version(item)
    link = mail.absolute_url("feedback.edit", slug=item.consultation.slug, code=item.code)
    kind = "cosign-left" if left else "cosign-decided"
    for lead in organizations.active_leads(feedback.organization_id):
        mail.queue_email(
            "cosign_decided",
            lead.email,
            lead.locale,
            dedupe_key=f"{kind}:{cosigner.id}:{lead.id}:{_stamp(cosigner.decided_at)}",
            user_id=lead.id,
            name=lead.name,
            organization=decider_name,
            accepted=accepted,
            left=left,
            code=item.code,
            title=version.title_in(lead.locale),
            link=link,
        )
