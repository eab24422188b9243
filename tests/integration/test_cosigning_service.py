"""Co-signing at the service level: who may invite and answer, and what co-signing binds."""

from __future__ import annotations

import re
import threading
from datetime import timedelta

import pytest
from flask import render_template
from markupsafe import escape
from sqlalchemy import event, func, select, update

from app.accounts.services import create_user
from app.consultations import services as consultations
from app.consultations.services import published_tally
from app.dev.demo import DEMO_ORGANIZATION
from app.errors import Conflict, Forbidden, InvalidState, NotFound
from app.extensions import db
from app.feedback import cosignatures, cosigning, positions
from app.feedback import services as feedback
from app.feedback.cosignatures import SharedText
from app.feedback.feedback_input import FeedbackInput
from app.models import (
    AuditEvent,
    Consultation,
    CosignState,
    Disclosure,
    Feedback,
    FeedbackCosigner,
    FeedbackState,
    Item,
    Notification,
    Organization,
    Redaction,
    Stance,
    User,
)
from app.models.base import utcnow
from app.moderation import services as moderation
from tests.helpers.cosigning import DIASPORA, HEMISPHERIC, MEXICAN, QUEBEC, WORKERS

pytestmark = [pytest.mark.postgres, pytest.mark.usefixtures("without_demo_cosignatures")]


@pytest.fixture
def ctx(seeded):
    """A request context: services that mail build absolute links with url_for."""
    with seeded.test_request_context():
        yield seeded
        db.session.rollback()


def org_id(name: str) -> int:
    return db.session.scalar(select(Organization.id).where(Organization.name == name))


def item_id(code: str) -> int:
    return db.session.scalar(select(Item.id).where(Item.code == code))


def user_id(email: str) -> int:
    return db.session.scalar(select(User.id).where(User.email == email))


def lead_of(name: str) -> int:
    return db.session.scalar(
        select(User.id)
        .where(User.organization_id == org_id(name), User.is_lead.is_(True))
        .order_by(User.id)
    )


def position(email: str, code: str, *, submit: bool = True, **changes) -> Feedback:
    """The organisation of `email` saves (or submits) its position on the item, as it stands."""
    values = {"stance": Stance.SUPPORT, "priority": 4, "comment": "Our position."} | changes
    author = db.session.get(User, user_id(email))
    current = positions.feedback_of_organization(author.organization_id, item_id(code))
    return feedback.save_feedback(
        author.id,
        item_id(code),
        FeedbackInput(**values),
        submit=submit,
        lock_version=current.lock_version if current else 0,
    )


def feedback_of(name: str, code: str) -> Feedback:
    return positions.feedback_of_organization(org_id(name), item_id(code))


def mails_to(name: str) -> list[Notification]:
    leads = select(User.id).where(User.organization_id == org_id(name), User.is_lead.is_(True))
    return list(
        db.session.scalars(
            select(Notification).where(Notification.user_id.in_(leads)).order_by(Notification.id)
        )
    )


def test_the_lead_invites_a_verified_organisation_whose_leads_are_mailed(ctx):
    position("lead@example.org", "P1")
    second_lead = create_user(
        "second-lead@workers.example.org",
        "Second Lead",
        "a long enough passphrase 42",
        organization=db.session.get(Organization, org_id(WORKERS)),
        is_lead=True,
        locale="es",
    )
    db.session.commit()

    cosigner = cosigning.invite(lead_of(DEMO_ORGANIZATION), item_id("P1"), org_id(WORKERS))

    assert cosigner.state is CosignState.INVITED
    assert cosigner.invited_by_id == lead_of(DEMO_ORGANIZATION)
    mails = mails_to(WORKERS)
    assert len(mails) == 2  # every lead, each in their own language
    english = next(m for m in mails if m.to_email == "member3@demo.example.org")
    assert "co-sign" in english.subject
    assert DEMO_ORGANIZATION in english.body_text and "P1" in english.body_text
    assert "/organisation/cosigning" in english.body_text
    assert any(m.to_email == second_lead.email for m in mails)
    assert db.session.scalar(
        select(AuditEvent.id).where(AuditEvent.action == "feedback.cosign_invite")
    )


def test_a_draft_may_be_offered_for_co_signing_but_not_co_signed_until_submitted(ctx):
    position("lead@example.org", "P1", submit=False)
    cosigner = cosigning.invite(lead_of(DEMO_ORGANIZATION), item_id("P1"), org_id(WORKERS))
    [request] = cosignatures.requests_for(org_id(WORKERS), viewer_id=lead_of(WORKERS))
    assert request.awaiting_decision and not request.may_accept

    # Co-signing a draft that may never be submitted would bar the organisation from its own.
    with pytest.raises(InvalidState, match="must be submitted before") as refused:
        cosigning.decide(lead_of(WORKERS), cosigner.id, accept=True)
    assert DEMO_ORGANIZATION in refused.value.message
    assert db.session.get(FeedbackCosigner, cosigner.id).state is CosignState.INVITED
    cosigning.lock_for_own_submission(org_id(WORKERS), item_id("P1"))

    position("lead@example.org", "P1")
    [request] = cosignatures.requests_for(org_id(WORKERS), viewer_id=lead_of(WORKERS))
    assert request.may_accept
    cosigning.decide(lead_of(WORKERS), cosigner.id, accept=True)
    assert db.session.get(FeedbackCosigner, cosigner.id).state is CosignState.ACCEPTED


def test_an_invitation_on_a_draft_may_still_be_declined(ctx):
    position("lead@example.org", "P1", submit=False)
    cosigner = cosigning.invite(lead_of(DEMO_ORGANIZATION), item_id("P1"), org_id(WORKERS))
    cosigning.decide(lead_of(WORKERS), cosigner.id, accept=False)
    assert db.session.get(FeedbackCosigner, cosigner.id).state is CosignState.DECLINED


def test_only_the_lead_may_invite(ctx):
    position("lead@example.org", "P1")
    with pytest.raises(Forbidden):
        cosigning.invite(user_id("stakeholder@example.org"), item_id("P1"), org_id(WORKERS))


def test_there_must_be_a_live_position_to_co_sign(ctx):
    with pytest.raises(InvalidState, match="before inviting co-signers"):
        cosigning.invite(lead_of(DEMO_ORGANIZATION), item_id("P1"), org_id(WORKERS))
    # A rejected position cannot gather co-signers either.
    with pytest.raises(InvalidState, match="before inviting co-signers"):
        cosigning.invite(lead_of(QUEBEC), item_id("P2"), org_id(MEXICAN))


NOT_ON_THIS_ITEM = "cannot be invited to co-sign on this item."


@pytest.mark.parametrize(
    ("invitee", "code", "message"),
    [
        (DEMO_ORGANIZATION, "P1", "cannot co-sign its own position"),
        (DIASPORA, "P1", "is not verified yet"),
        (MEXICAN, "P4", NOT_ON_THIS_ITEM),  # published
        (MEXICAN, "P6", NOT_ON_THIS_ITEM),  # submitted
        (WORKERS, "P5", NOT_ON_THIS_ITEM),  # sent back for changes
    ],
)
def test_some_organisations_cannot_be_invited(ctx, invitee, code, message):
    position("lead@example.org", code)
    with pytest.raises(InvalidState, match=message) as refused:
        cosigning.invite(lead_of(DEMO_ORGANIZATION), item_id(code), org_id(invitee))
    assert refused.value.field == "organization_id"
    assert not db.session.scalar(select(func.count()).select_from(FeedbackCosigner))


def test_an_empty_draft_is_no_position_but_a_written_one_is(ctx):
    unanswered = {"submit": False, "stance": None, "priority": None}
    position("lead@example.org", "P1")
    position("member3@demo.example.org", "P1", **unanswered, comment="")  # the workers' lead
    cosigning.invite(lead_of(DEMO_ORGANIZATION), item_id("P1"), org_id(WORKERS))

    position("lead@example.org", "P3")
    position("member3@demo.example.org", "P3", **unanswered, comment="Thinking about it.")
    with pytest.raises(InvalidState, match=NOT_ON_THIS_ITEM):
        cosigning.invite(lead_of(DEMO_ORGANIZATION), item_id("P3"), org_id(WORKERS))


def test_a_forged_organisation_id_is_not_found(ctx):
    position("lead@example.org", "P1")
    with pytest.raises(NotFound):
        cosigning.invite(lead_of(DEMO_ORGANIZATION), item_id("P1"), 999_999)


def test_no_invitation_once_the_window_has_closed(ctx):
    position("lead@example.org", "P1")
    consultation = db.session.get(Item, item_id("P1")).consultation
    consultation.closes_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    with pytest.raises(InvalidState, match="not open"):
        cosigning.invite(lead_of(DEMO_ORGANIZATION), item_id("P1"), org_id(WORKERS))


def test_inviting_twice_is_a_conflict_but_a_declined_organisation_may_be_asked_again(ctx):
    position("lead@example.org", "P1")
    lead = lead_of(DEMO_ORGANIZATION)
    first = cosigning.invite(lead, item_id("P1"), org_id(WORKERS))
    with pytest.raises(Conflict, match="already invited"):
        cosigning.invite(lead, item_id("P1"), org_id(WORKERS))

    cosigning.decide(lead_of(WORKERS), first.id, accept=False)
    again = cosigning.invite(lead, item_id("P1"), org_id(WORKERS))

    assert again.id == first.id
    assert again.state is CosignState.INVITED
    assert again.decided_at is None and again.decided_by_id is None
    assert len(mails_to(WORKERS)) == 2  # asked twice, mailed twice


def test_accepting_lists_the_co_signer_and_binds_its_organisation(ctx):
    own = position("lead@example.org", "P1")
    cosigner = cosigning.invite(lead_of(DEMO_ORGANIZATION), item_id("P1"), org_id(WORKERS))

    cosigning.decide(lead_of(WORKERS), cosigner.id, accept=True)

    assert [(c.organization, c.state) for c in cosignatures.cosigners_of(own.id)] == [
        (WORKERS, CosignState.ACCEPTED)
    ]
    assert cosignatures.accepted_cosigner_names([own.id, 12345]) == {own.id: [WORKERS]}
    cosigned = cosigning.cosigned_feedback(org_id(WORKERS), item_id("P1"))
    assert cosigned.organization == DEMO_ORGANIZATION
    assert cosigned.feedback.id == own.id
    with pytest.raises(InvalidState) as refused:
        cosigning.lock_for_own_submission(org_id(WORKERS), item_id("P1"))
    assert refused.value.field == "stance"
    assert DEMO_ORGANIZATION in refused.value.message
    assert "cannot also submit its own" in refused.value.message
    # The inviting organisation and other items are not bound.
    cosigning.lock_for_own_submission(org_id(DEMO_ORGANIZATION), item_id("P1"))
    cosigning.lock_for_own_submission(org_id(WORKERS), item_id("P3"))
    decided = [m for m in mails_to(DEMO_ORGANIZATION) if "answer" in m.subject.lower()]
    assert len(decided) == 1 and WORKERS in decided[0].body_text
    assert "accepted" in decided[0].body_text


def test_a_withdrawn_position_no_longer_binds_its_co_signers(ctx):
    own = position("lead@example.org", "P1")
    cosigner = cosigning.invite(lead_of(DEMO_ORGANIZATION), item_id("P1"), org_id(WORKERS))
    cosigning.decide(lead_of(WORKERS), cosigner.id, accept=True)
    db.session.get(Feedback, own.id).state = FeedbackState.WITHDRAWN
    db.session.commit()

    cosigning.lock_for_own_submission(org_id(WORKERS), item_id("P1"))
    assert cosigning.cosigned_feedback(org_id(WORKERS), item_id("P1")) is None


def test_accepting_is_refused_once_the_organisation_submitted_its_own_position(ctx):
    position("lead@example.org", "P1")
    cosigner = cosigning.invite(lead_of(DEMO_ORGANIZATION), item_id("P1"), org_id(WORKERS))
    position("member3@demo.example.org", "P1")  # meanwhile, their own position

    with pytest.raises(InvalidState, match="already submitted its own position") as refused:
        cosigning.decide(lead_of(WORKERS), cosigner.id, accept=True)
    assert DEMO_ORGANIZATION in refused.value.message
    cosigning.decide(lead_of(WORKERS), cosigner.id, accept=False)  # declining is still fine


def test_an_own_draft_does_not_stop_accepting_but_can_never_be_submitted(ctx):
    position("lead@example.org", "P1")
    cosigner = cosigning.invite(lead_of(DEMO_ORGANIZATION), item_id("P1"), org_id(WORKERS))
    position("member3@demo.example.org", "P1", submit=False)

    cosigning.decide(lead_of(WORKERS), cosigner.id, accept=True)

    assert feedback_of(WORKERS, "P1").state is FeedbackState.DRAFT
    with pytest.raises(InvalidState, match="cannot also submit its own"):
        cosigning.lock_for_own_submission(org_id(WORKERS), item_id("P1"))


def test_an_organisation_co_signs_one_position_per_item(ctx):
    position("lead@example.org", "P1")
    create_user(
        "lead@quebec.example.org",
        "Quebec Lead",
        "a long enough passphrase 42",
        organization=db.session.get(Organization, org_id(QUEBEC)),
        is_lead=True,
    )
    db.session.commit()
    position("lead@quebec.example.org", "P1")
    first = cosigning.invite(lead_of(DEMO_ORGANIZATION), item_id("P1"), org_id(WORKERS))
    second = cosigning.invite(lead_of(QUEBEC), item_id("P1"), org_id(WORKERS))
    cosigning.decide(lead_of(WORKERS), first.id, accept=True)

    with pytest.raises(InvalidState, match="only one position per item"):
        cosigning.decide(lead_of(WORKERS), second.id, accept=True)


def test_only_a_lead_of_the_invited_organisation_may_answer(ctx):
    position("lead@example.org", "P1")
    cosigner = cosigning.invite(lead_of(DEMO_ORGANIZATION), item_id("P1"), org_id(WORKERS))
    colleague = create_user(
        "colleague@workers.example.org",
        "Colleague",
        "a long enough passphrase 42",
        organization=db.session.get(Organization, org_id(WORKERS)),
    )
    db.session.commit()

    with pytest.raises(NotFound):
        cosigning.decide(lead_of(MEXICAN), cosigner.id, accept=True)
    with pytest.raises(NotFound):  # the inviting lead cannot answer for them either
        cosigning.decide(lead_of(DEMO_ORGANIZATION), cosigner.id, accept=True)
    with pytest.raises(Forbidden):
        cosigning.decide(colleague.id, cosigner.id, accept=True)
    with pytest.raises(NotFound):
        cosigning.decide(lead_of(WORKERS), 999_999, accept=True)
    assert db.session.get(FeedbackCosigner, cosigner.id).state is CosignState.INVITED


def test_a_request_is_answered_once_and_only_while_the_window_is_open(ctx):
    position("lead@example.org", "P1")
    lead = lead_of(DEMO_ORGANIZATION)
    answered = cosigning.invite(lead, item_id("P1"), org_id(WORKERS))
    cosigning.decide(lead_of(WORKERS), answered.id, accept=False)
    with pytest.raises(InvalidState, match="already been answered"):
        cosigning.decide(lead_of(WORKERS), answered.id, accept=True)

    late = cosigning.invite(lead, item_id("P1"), org_id(MEXICAN))
    db.session.execute(
        Consultation.__table__.update().values(closes_at=utcnow() - timedelta(minutes=1))
    )
    db.session.commit()
    with pytest.raises(InvalidState, match="not open"):
        cosigning.decide(lead_of(MEXICAN), late.id, accept=True)


def test_the_inviting_lead_may_withdraw_an_unanswered_invitation(ctx):
    position("lead@example.org", "P1")
    lead = lead_of(DEMO_ORGANIZATION)
    cosigner = cosigning.invite(lead, item_id("P1"), org_id(WORKERS))

    with pytest.raises(NotFound):
        cosigning.withdraw_invitation(lead_of(WORKERS), cosigner.id)
    item = cosigning.withdraw_invitation(lead, cosigner.id)

    assert item.code == "P1"
    assert db.session.get(FeedbackCosigner, cosigner.id) is None
    assert (org_id(WORKERS), WORKERS) in cosigning.candidate_organizations(
        org_id(DEMO_ORGANIZATION), item_id("P1")
    )
    accepted = cosigning.invite(lead, item_id("P1"), org_id(WORKERS))
    cosigning.decide(lead_of(WORKERS), accepted.id, accept=True)
    with pytest.raises(InvalidState, match="already been answered"):
        cosigning.withdraw_invitation(lead, accepted.id)


def test_candidates_are_verified_others_not_yet_asked_and_without_a_position(ctx):
    position("lead@example.org", "P4")
    own = org_id(DEMO_ORGANIZATION)
    # Both Mexico and Quebec published their own P4 position; Diaspora is not verified.
    assert cosigning.candidate_organizations(own, item_id("P4")) == [
        (org_id(WORKERS), WORKERS),
        (org_id(HEMISPHERIC), HEMISPHERIC),
    ]

    position("lead@example.org", "P1")
    everyone = cosigning.candidate_organizations(own, item_id("P1"))
    assert [name for _, name in everyone] == sorted([MEXICAN, QUEBEC, WORKERS, HEMISPHERIC])
    invited = cosigning.invite(lead_of(DEMO_ORGANIZATION), item_id("P1"), org_id(WORKERS))
    assert WORKERS not in [n for _, n in cosigning.candidate_organizations(own, item_id("P1"))]
    cosigning.decide(lead_of(WORKERS), invited.id, accept=False)
    assert WORKERS in [n for _, n in cosigning.candidate_organizations(own, item_id("P1"))]


def test_requests_are_listed_for_both_organisations(ctx):
    position("lead@example.org", "P1")
    cosigner = cosigning.invite(lead_of(DEMO_ORGANIZATION), item_id("P1"), org_id(WORKERS))

    [incoming] = cosignatures.requests_for(org_id(WORKERS))
    assert (incoming.id, incoming.organization, incoming.item.code) == (
        cosigner.id,
        DEMO_ORGANIZATION,
        "P1",
    )
    assert incoming.consultation.slug == "leaders-summit-2021-migration"
    assert incoming.version.title_in("en")
    assert incoming.awaiting_decision
    [outgoing] = cosignatures.sent_by(org_id(DEMO_ORGANIZATION))
    assert (outgoing.id, outgoing.organization) == (cosigner.id, WORKERS)
    assert cosignatures.requests_for(org_id(DEMO_ORGANIZATION)) == []
    assert cosignatures.sent_by(org_id(WORKERS)) == []


def test_the_tally_counts_accepted_co_signers_of_published_positions(ctx):
    p4 = item_id("P4")
    before = published_tally(p4)
    mexican_position = feedback_of(MEXICAN, "P4")  # published, support, priority 5
    accepted = cosigning.invite(lead_of(MEXICAN), p4, org_id(WORKERS))
    cosigning.decide(lead_of(WORKERS), accepted.id, accept=True)
    still_invited = cosigning.invite(lead_of(MEXICAN), p4, org_id(DEMO_ORGANIZATION))

    after = published_tally(p4)

    assert mexican_position.state is FeedbackState.PUBLISHED
    assert after.total == before.total + 1
    assert after.stances["support"] == before.stances["support"] + 1
    assert after.priorities[5] == before.priorities[5] + 1
    assert still_invited.state is CosignState.INVITED  # not counted until accepted


def test_co_signers_of_unpublished_positions_are_not_counted(ctx):
    position("lead@example.org", "P1")
    before = published_tally(item_id("P1"))
    cosigner = cosigning.invite(lead_of(DEMO_ORGANIZATION), item_id("P1"), org_id(WORKERS))
    cosigning.decide(lead_of(WORKERS), cosigner.id, accept=True)
    assert published_tally(item_id("P1")) == before


def test_the_partials_render_co_signers_the_invite_form_and_the_notice(ctx):
    own = position("lead@example.org", "P1")
    cosigner = cosigning.invite(lead_of(DEMO_ORGANIZATION), item_id("P1"), org_id(WORKERS))
    item = db.session.get(Item, item_id("P1"))
    html = render_template(
        "feedback/_cosigners.html",
        item=item,
        consultation=item.consultation,
        cosigners=cosignatures.cosigners_of(own.id),
        candidates=cosigning.candidate_organizations(org_id(DEMO_ORGANIZATION), item.id),
        is_lead=True,
        window_open=True,
    )
    assert str(escape(WORKERS)) in html and "Invited, awaiting an answer" in html
    assert f'action="/cosigning/{cosigner.id}/withdraw"' in html
    label = r'<label class="govuk-label" for="cosigner-organization">\s*Organisation to invite'
    assert re.search(label, html)
    assert re.search(rf'<option value="{org_id(MEXICAN)}"\s*>{MEXICAN}</option>', html)
    assert 'action="/c/leaders-summit-2021-migration/items/P1/feedback/cosigners"' in html

    read_only = render_template(
        "feedback/_cosigners.html",
        item=item,
        consultation=item.consultation,
        cosigners=cosignatures.cosigners_of(own.id),
        candidates=[],
        is_lead=False,
        window_open=True,
    )
    assert "/withdraw" not in read_only and "<select" not in read_only

    cosigning.decide(lead_of(WORKERS), cosigner.id, accept=True)
    notice = render_template(
        "feedback/_cosigned_notice.html",
        cosigned=cosigning.cosigned_feedback(org_id(WORKERS), item.id),
    )
    assert f"co-signs the position of {DEMO_ORGANIZATION}" in notice
    assert "cannot also submit its own" in notice
    assert 'href="/organisation/cosigning"' in notice  # where the lead can stop co-signing
    assert render_template("feedback/_cosigned_notice.html", cosigned=None).strip() == ""


# --- what a request shows of the position (never the row itself) ------------------------------


def add_workers_member() -> int:
    member = create_user(
        "member@workers.example.org",
        "Workers Member",
        "a long enough passphrase 42",
        organization=db.session.get(Organization, org_id(WORKERS)),
    )
    db.session.commit()
    return member.id


def redact(feedback_id: int, field: str, text: str, words: str, *, reverted: bool = False) -> None:
    start = text.index(words)
    db.session.add(
        Redaction(
            feedback_id=feedback_id,
            field=field,
            start=start,
            end=start + len(words),
            reason="Personal data.",
            reverted_at=utcnow() if reverted else None,
        )
    )
    db.session.commit()


COMMENT = "We support this. Call Ana on +1 555 0100 for our evidence."
AMENDMENT = "Shelters shall be funded for three years."


def test_the_invited_lead_reads_only_the_public_moderated_text_while_asked(ctx):
    own = position(
        "lead@example.org",
        "P1",
        comment=COMMENT,
        amendment=AMENDMENT,
        amendment_disclosure=Disclosure.COUNCIL_ONLY,
    )
    redact(own.id, "comment", COMMENT, "+1 555 0100")
    redact(own.id, "comment", COMMENT, "Ana", reverted=True)  # a reverted redaction hides nothing
    cosigning.invite(lead_of(DEMO_ORGANIZATION), item_id("P1"), org_id(WORKERS))

    [request] = cosignatures.requests_for(org_id(WORKERS), viewer_id=lead_of(WORKERS))

    assert not hasattr(request, "feedback")  # no ORM row to reach every field through
    shown = request.position
    assert (shown.state, shown.stance, shown.priority) == (
        FeedbackState.SUBMITTED,
        Stance.SUPPORT,
        4,
    )
    assert shown.comment == SharedText(
        "We support this. Call Ana on [redacted] for our evidence.", council_only=False
    )
    assert shown.amendment == SharedText("", council_only=True)
    assert shown.has_text


def test_council_only_text_is_withheld_whichever_field(ctx):
    position(
        "lead@example.org",
        "P1",
        comment=COMMENT,
        comment_disclosure=Disclosure.COUNCIL_ONLY,
        stance=Stance.SUPPORT_WITH_AMENDMENTS,
        amendment=AMENDMENT,
    )
    cosigning.invite(lead_of(DEMO_ORGANIZATION), item_id("P1"), org_id(WORKERS))
    [request] = cosignatures.requests_for(org_id(WORKERS), viewer_id=lead_of(WORKERS))
    assert request.position.comment == SharedText("", council_only=True)
    assert request.position.amendment == SharedText(AMENDMENT, council_only=False)


def test_members_who_are_not_leads_read_no_text_until_their_organisation_co_signs(ctx):
    position("lead@example.org", "P1", comment=COMMENT)
    cosigner = cosigning.invite(lead_of(DEMO_ORGANIZATION), item_id("P1"), org_id(WORKERS))
    member = add_workers_member()

    # A member, no viewer at all, or a lead of another organisation: no text while asked.
    for viewer in (member, None, lead_of(MEXICAN), lead_of(DEMO_ORGANIZATION)):
        [request] = cosignatures.requests_for(org_id(WORKERS), viewer_id=viewer)
        assert request.position.comment is None and request.position.amendment is None
        assert not request.position.has_text
        assert request.position.stance is Stance.SUPPORT  # stance and priority are shown
    [sent] = cosignatures.sent_by(org_id(DEMO_ORGANIZATION))
    assert sent.position.comment is None

    cosigning.decide(lead_of(WORKERS), cosigner.id, accept=True)
    [request] = cosignatures.requests_for(org_id(WORKERS), viewer_id=member)
    assert request.position.comment == SharedText(COMMENT, council_only=False)


@pytest.mark.parametrize("how", ["declined", "left", "withdrawn"])
def test_no_text_once_the_request_is_declined_left_or_the_position_withdrawn(ctx, how):
    own = position("lead@example.org", "P1", comment=COMMENT)
    cosigner = cosigning.invite(lead_of(DEMO_ORGANIZATION), item_id("P1"), org_id(WORKERS))
    if how == "declined":
        cosigning.decide(lead_of(WORKERS), cosigner.id, accept=False)
    elif how == "left":
        cosigning.decide(lead_of(WORKERS), cosigner.id, accept=True)
        cosigning.leave(lead_of(WORKERS), cosigner.id)
    else:  # a withdrawal that (still) left the invitation in place
        db.session.get(Feedback, own.id).state = FeedbackState.WITHDRAWN
        db.session.commit()

    [request] = cosignatures.requests_for(org_id(WORKERS), viewer_id=lead_of(WORKERS))

    assert request.position.comment is None and not request.position.has_text


# --- letting co-signers go, and asking them again ----------------------------------------------


def asked_and_answered(code: str = "P1") -> tuple[Feedback, dict[str, FeedbackCosigner]]:
    """The demo organisation's submitted position: the workers co-sign, Mexico declined, Quebec
    is asked."""
    own = position("lead@example.org", code)
    lead = lead_of(DEMO_ORGANIZATION)
    rows = {
        name: cosigning.invite(lead, item_id(code), org_id(name))
        for name in (WORKERS, MEXICAN, QUEBEC)
    }
    cosigning.decide(lead_of(WORKERS), rows[WORKERS].id, accept=True)
    cosigning.decide(lead_of(MEXICAN), rows[MEXICAN].id, accept=False)
    return own, rows


def states_of(feedback_id: int) -> dict[int, CosignState]:
    return {
        c.organization_id: c.state
        for c in db.session.scalars(
            select(FeedbackCosigner).where(FeedbackCosigner.feedback_id == feedback_id)
        )
    }


def test_releasing_deletes_every_co_signer_with_an_audit_event_and_leaves_the_commit(ctx):
    own, rows = asked_and_answered()
    moderator = user_id("moderator@example.org")

    cosigning.release_cosigners(own.id, moderator)

    assert states_of(own.id) == {}
    assert cosigning.cosigned_feedback(org_id(WORKERS), item_id("P1")) is None
    cosigning.lock_for_own_submission(org_id(WORKERS), item_id("P1"))
    events = db.session.scalars(
        select(AuditEvent)
        .where(AuditEvent.action == "feedback.cosigners_released")
        .order_by(AuditEvent.id)
    ).all()
    assert [(e.actor_id, e.target_type, e.target_id, e.after) for e in events] == [
        (moderator, "feedback", own.id, None)
    ] * 3
    assert sorted((e.before["organization_id"], e.before["state"]) for e in events) == sorted(
        [
            (str(org_id(WORKERS)), "accepted"),
            (str(org_id(MEXICAN)), "declined"),
            (str(org_id(QUEBEC)), "invited"),
        ]
    )

    db.session.rollback()  # nothing was committed: the caller's transaction decides
    assert len(states_of(own.id)) == 3
    assert not db.session.scalar(
        select(AuditEvent.id).where(AuditEvent.action == "feedback.cosigners_released")
    )


def test_released_co_signers_are_free_and_may_be_invited_again(ctx):
    own, rows = asked_and_answered()
    cosigning.release_cosigners(own.id, lead_of(DEMO_ORGANIZATION))
    db.session.commit()

    assert cosignatures.requests_for(org_id(WORKERS), viewer_id=lead_of(WORKERS)) == []
    again = cosigning.invite(lead_of(DEMO_ORGANIZATION), item_id("P1"), org_id(WORKERS))
    assert again.state is CosignState.INVITED


def test_releasing_a_position_without_co_signers_does_nothing(ctx):
    own = position("lead@example.org", "P1")
    cosigning.release_cosigners(own.id, lead_of(DEMO_ORGANIZATION))
    assert not db.session.scalar(
        select(func.count())
        .select_from(AuditEvent)
        .where(AuditEvent.action == "feedback.cosigners_released")
    )


def cosign_requests_to(name: str) -> list[Notification]:
    return [m for m in mails_to(name) if "invites yours to co-sign" in m.subject]


def test_reconfirming_asks_the_co_signers_again_and_mails_their_leads(ctx):
    own, rows = asked_and_answered()
    asked_before = len(cosign_requests_to(WORKERS))

    cosigning.reconfirm_cosigners(own.id, lead_of(DEMO_ORGANIZATION))

    workers = db.session.get(FeedbackCosigner, rows[WORKERS].id)
    assert workers.state is CosignState.INVITED
    assert workers.decided_at is None and workers.decided_by_id is None
    assert states_of(own.id) == {
        org_id(WORKERS): CosignState.INVITED,
        org_id(MEXICAN): CosignState.DECLINED,  # declined and invited ones are left alone
        org_id(QUEBEC): CosignState.INVITED,
    }
    mails = cosign_requests_to(WORKERS)
    assert len(mails) == asked_before + 1
    assert "changed its position" in mails[-1].body_text
    assert DEMO_ORGANIZATION in mails[-1].body_text
    assert cosigning.cosigned_feedback(org_id(WORKERS), item_id("P1")) is None  # no longer bound
    assert db.session.scalar(
        select(AuditEvent.id).where(AuditEvent.action == "feedback.cosign_reconfirm")
    )

    db.session.rollback()  # nothing was committed
    assert db.session.get(FeedbackCosigner, rows[WORKERS].id).state is CosignState.ACCEPTED
    assert len(cosign_requests_to(WORKERS)) == asked_before


def test_every_reconfirmation_is_mailed_again(ctx):
    own, rows = asked_and_answered()
    for _ in range(2):
        cosigning.reconfirm_cosigners(own.id, lead_of(DEMO_ORGANIZATION))
        db.session.commit()
        cosigning.decide(lead_of(WORKERS), rows[WORKERS].id, accept=True)
    assert len(cosign_requests_to(WORKERS)) == 3  # the invitation and two reconfirmations


# --- stopping co-signing ------------------------------------------------------------------------


def test_the_co_signing_lead_may_stop_co_signing(ctx):
    position("lead@example.org", "P1")
    cosigner = cosigning.invite(lead_of(DEMO_ORGANIZATION), item_id("P1"), org_id(WORKERS))
    cosigning.decide(lead_of(WORKERS), cosigner.id, accept=True)
    answers_before = len(mails_to(DEMO_ORGANIZATION))

    left = cosigning.leave(lead_of(WORKERS), cosigner.id)

    assert left.state is CosignState.DECLINED
    assert left.decided_by_id == lead_of(WORKERS) and left.decided_at is not None
    assert cosigning.cosigned_feedback(org_id(WORKERS), item_id("P1")) is None
    cosigning.lock_for_own_submission(org_id(WORKERS), item_id("P1"))
    event = db.session.scalar(
        select(AuditEvent).where(AuditEvent.action == "feedback.cosign_leave")
    )
    assert event.before["state"] == "accepted" and event.after["state"] == "declined"
    [told] = mails_to(DEMO_ORGANIZATION)[answers_before:]
    assert f"{WORKERS} no longer co-signs" in told.body_text
    # It may be asked again, like any organisation that declined.
    again = cosigning.invite(lead_of(DEMO_ORGANIZATION), item_id("P1"), org_id(WORKERS))
    assert again.state is CosignState.INVITED


def test_only_a_lead_of_a_co_signing_organisation_may_stop_while_the_window_is_open(ctx):
    position("lead@example.org", "P1")
    cosigner = cosigning.invite(lead_of(DEMO_ORGANIZATION), item_id("P1"), org_id(WORKERS))
    with pytest.raises(InvalidState, match="does not co-sign"):
        cosigning.leave(lead_of(WORKERS), cosigner.id)  # only asked so far
    cosigning.decide(lead_of(WORKERS), cosigner.id, accept=True)
    member = add_workers_member()

    with pytest.raises(Forbidden):
        cosigning.leave(member, cosigner.id)
    with pytest.raises(NotFound):
        cosigning.leave(lead_of(DEMO_ORGANIZATION), cosigner.id)
    with pytest.raises(NotFound):
        cosigning.leave(lead_of(WORKERS), 999_999)
    db.session.execute(
        Consultation.__table__.update().values(closes_at=utcnow() - timedelta(minutes=1))
    )
    db.session.commit()
    with pytest.raises(InvalidState, match="not open"):
        cosigning.leave(lead_of(WORKERS), cosigner.id)
    assert db.session.get(FeedbackCosigner, cosigner.id).state is CosignState.ACCEPTED


# --- one decision at a time per organisation ----------------------------------------------------


def statements_during(action) -> list[str]:  # noqa: ANN001
    statements: list[str] = []

    def capture(_conn, _cursor, statement, *_args) -> None:  # noqa: ANN001
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", capture)
    try:
        action()
    finally:
        event.remove(db.engine, "before_cursor_execute", capture)
    return statements


def locks_organizations(statements: list[str]) -> bool:
    return any("FROM organizations" in s and "FOR UPDATE" in s for s in statements)


def test_accepting_and_checking_an_own_submission_lock_the_organisation(ctx):
    position("lead@example.org", "P1")
    cosigner = cosigning.invite(lead_of(DEMO_ORGANIZATION), item_id("P1"), org_id(WORKERS))

    assert locks_organizations(
        statements_during(lambda: cosigning.lock_for_own_submission(org_id(WORKERS), item_id("P1")))
    )
    db.session.rollback()
    assert locks_organizations(
        statements_during(lambda: cosigning.decide(lead_of(WORKERS), cosigner.id, accept=True))
    )


def test_whichever_comes_first_the_other_is_refused(ctx):
    position("lead@example.org", "P1")
    first = cosigning.invite(lead_of(DEMO_ORGANIZATION), item_id("P1"), org_id(WORKERS))
    cosigning.decide(lead_of(WORKERS), first.id, accept=True)
    with pytest.raises(InvalidState, match="cannot also submit its own"):
        position("member3@demo.example.org", "P1")  # the workers' lead submits their own
    db.session.rollback()
    assert feedback_of(WORKERS, "P1") is None

    position("lead@example.org", "P3")
    second = cosigning.invite(lead_of(DEMO_ORGANIZATION), item_id("P3"), org_id(WORKERS))
    position("member3@demo.example.org", "P3")
    with pytest.raises(InvalidState, match="already submitted its own position"):
        cosigning.decide(lead_of(WORKERS), second.id, accept=True)


class Held:
    """Another transaction holding the organisation's row, as a concurrent accept would."""

    def __init__(self, organization_id: int) -> None:
        self.connection = db.engine.connect()
        self.transaction = self.connection.begin()
        self.connection.execute(
            select(Organization.id).where(Organization.id == organization_id).with_for_update()
        )

    def commit_after(self, statement) -> None:  # noqa: ANN001
        self.connection.execute(statement)
        self.transaction.commit()

    def close(self) -> None:
        if self.transaction.is_active:
            self.transaction.rollback()
        self.connection.close()


def in_another_request(app, action) -> tuple[threading.Thread, dict]:  # noqa: ANN001
    outcome: dict = {}

    def run() -> None:
        with app.test_request_context():
            try:
                outcome["value"] = action()
            except Exception as error:  # noqa: BLE001 - handed to the test
                outcome["error"] = error
            finally:
                db.session.rollback()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, outcome


def race(app, organization_id: int, action, meanwhile) -> dict:  # noqa: ANN001
    """`action` starts while another transaction holds the organisation; it must wait for that
    transaction (which runs `meanwhile`) to commit, and then see what it did."""
    held = Held(organization_id)
    try:
        thread, outcome = in_another_request(app, action)
        thread.join(1.5)
        assert thread.is_alive(), f"did not wait for the organisation's lock: {outcome}"
        held.commit_after(meanwhile)
    finally:
        held.close()
    thread.join(20)
    assert not thread.is_alive()
    return outcome


def test_an_acceptance_waits_for_a_concurrent_own_submission(ctx):
    position("lead@example.org", "P1")
    cosigner = cosigning.invite(lead_of(DEMO_ORGANIZATION), item_id("P1"), org_id(WORKERS))
    draft = position("member3@demo.example.org", "P1", submit=False)
    workers_lead = lead_of(WORKERS)
    db.session.commit()

    outcome = race(
        ctx,
        org_id(WORKERS),
        lambda: cosigning.decide(workers_lead, cosigner.id, accept=True),
        update(Feedback).where(Feedback.id == draft.id).values(state=FeedbackState.SUBMITTED),
    )

    assert isinstance(outcome.get("error"), InvalidState), outcome
    assert "already submitted its own position" in outcome["error"].message
    db.session.rollback()
    assert db.session.get(FeedbackCosigner, cosigner.id).state is CosignState.INVITED


def test_an_own_submission_waits_for_a_concurrent_acceptance(ctx):
    position("lead@example.org", "P1")
    cosigner = cosigning.invite(lead_of(DEMO_ORGANIZATION), item_id("P1"), org_id(WORKERS))
    workers, p1 = org_id(WORKERS), item_id("P1")
    db.session.commit()

    outcome = race(
        ctx,
        workers,
        lambda: cosigning.lock_for_own_submission(workers, p1),
        update(FeedbackCosigner)
        .where(FeedbackCosigner.id == cosigner.id)
        .values(state=CosignState.ACCEPTED, decided_at=utcnow()),
    )

    assert isinstance(outcome.get("error"), InvalidState), outcome
    assert "cannot also submit its own" in outcome["error"].message


def test_two_acceptances_on_one_item_are_decided_one_after_the_other(ctx):
    position("lead@example.org", "P1")
    create_user(
        "lead@quebec.example.org",
        "Quebec Lead",
        "a long enough passphrase 42",
        organization=db.session.get(Organization, org_id(QUEBEC)),
        is_lead=True,
    )
    db.session.commit()
    position("lead@quebec.example.org", "P1")
    first = cosigning.invite(lead_of(DEMO_ORGANIZATION), item_id("P1"), org_id(WORKERS))
    second = cosigning.invite(lead_of(QUEBEC), item_id("P1"), org_id(WORKERS))
    workers_lead = lead_of(WORKERS)
    db.session.commit()

    outcome = race(
        ctx,
        org_id(WORKERS),
        lambda: cosigning.decide(workers_lead, second.id, accept=True),
        update(FeedbackCosigner)
        .where(FeedbackCosigner.id == first.id)
        .values(state=CosignState.ACCEPTED, decided_at=utcnow()),
    )

    assert isinstance(outcome.get("error"), InvalidState), outcome
    assert "only one position per item" in outcome["error"].message


# --- one rule for whom to list and whom to invite -----------------------------------------------


def test_drafts_and_rejections_do_not_change_the_candidates(ctx):
    own = org_id(DEMO_ORGANIZATION)
    position("lead@example.org", "P2")
    # Quebec's P2 position was rejected; the workers published theirs.
    assert (org_id(QUEBEC), QUEBEC) in cosigning.candidate_organizations(own, item_id("P2"))
    assert WORKERS not in [n for _, n in cosigning.candidate_organizations(own, item_id("P2"))]
    rejected = cosigning.invite(lead_of(DEMO_ORGANIZATION), item_id("P2"), org_id(QUEBEC))
    assert rejected.state is CosignState.INVITED

    position("lead@example.org", "P1")
    before = cosigning.candidate_organizations(own, item_id("P1"))
    position("member3@demo.example.org", "P1", submit=False, comment="Our private draft.")
    assert cosigning.candidate_organizations(own, item_id("P1")) == before
    assert (org_id(WORKERS), WORKERS) in before


def test_every_hidden_reason_is_refused_in_the_same_words(ctx):
    lead = lead_of(DEMO_ORGANIZATION)
    position("lead@example.org", "P1")
    position("lead@example.org", "P4")
    position("lead@example.org", "P6")
    # The workers have a draft on P1; Mexico published on P4 and submitted on P6, where Quebec
    # co-signs Mexico's position (not published yet).
    position("member3@demo.example.org", "P1", submit=False, comment="Our private draft.")
    quebec_on_p6 = cosigning.invite(lead_of(MEXICAN), item_id("P6"), org_id(QUEBEC))
    cosigning.decide(lead_of(QUEBEC), quebec_on_p6.id, accept=True)

    refusals = []
    for code, invitee in (("P1", WORKERS), ("P4", MEXICAN), ("P6", QUEBEC), ("P6", MEXICAN)):
        with pytest.raises(InvalidState) as refused:
            cosigning.invite(lead, item_id(code), org_id(invitee))
        assert refused.value.field == "organization_id"
        refusals.append(refused.value.message.replace(invitee, "NAME"))
    assert set(refusals) == {"NAME cannot be invited to co-sign on this item."}


def accepted_partner_on_p1() -> Feedback:
    own = position("lead@example.org", "P1")
    cosigner = cosigning.invite(lead_of(DEMO_ORGANIZATION), item_id("P1"), org_id(WORKERS))
    cosigning.decide(lead_of(WORKERS), cosigner.id, accept=True)
    return own


def test_withdrawing_a_position_releases_its_co_signers_for_good(ctx):
    own = accepted_partner_on_p1()
    feedback.withdraw_feedback(
        lead_of(DEMO_ORGANIZATION), item_id("P1"), feedback_of(DEMO_ORGANIZATION, "P1").lock_version
    )
    assert cosignatures.cosigners_of(own.id) == []
    # The partner speaks for itself now, and resubmitting does not bring the signature back.
    partner = db.session.get(User, lead_of(WORKERS)).email
    position(partner, "P1", stance=Stance.OPPOSE)
    position("lead@example.org", "P1", stance=Stance.OPPOSE, comment="Back again.")
    assert cosignatures.cosigners_of(own.id) == []
    tally = consultations.organization_tally(item_id("P1"), (FeedbackState.SUBMITTED,))
    assert tally.total == 2


def test_a_changed_stance_asks_the_co_signers_again(ctx):
    own = accepted_partner_on_p1()
    position("lead@example.org", "P1", stance=Stance.OPPOSE, comment="We changed our mind.")
    assert [c.state for c in cosignatures.cosigners_of(own.id)] == [CosignState.INVITED]
    assert consultations.organization_tally(item_id("P1"), (FeedbackState.SUBMITTED,)).total == 1
    # A change of words alone keeps the signature.
    cosigner = cosignatures.cosigners_of(own.id)[0]
    cosigning.decide(lead_of(WORKERS), cosigner.id, accept=True)
    position("lead@example.org", "P1", stance=Stance.OPPOSE, comment="Clearer words.")
    assert [c.state for c in cosignatures.cosigners_of(own.id)] == [CosignState.ACCEPTED]


def test_a_rejected_position_releases_its_co_signers(ctx):
    own = accepted_partner_on_p1()
    moderator = user_id("moderator@example.org")
    seen = db.session.get(Feedback, own.id).lock_version
    moderation.reject_feedback(moderator, own.id, seen, "Off topic.")
    assert cosignatures.cosigners_of(own.id) == []
    cosigning.lock_for_own_submission(org_id(WORKERS), item_id("P1"))
