"""Co-signing at the service level: who may invite and answer, and what co-signing binds."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import render_template
from markupsafe import escape
from sqlalchemy import func, select

from app.extensions import db
from app.models import (
    AuditEvent,
    Consultation,
    CosignState,
    Feedback,
    FeedbackCosigner,
    FeedbackState,
    Item,
    Notification,
    Organization,
    Stance,
    User,
)
from app.models.base import utcnow
from app.services import cosigning, feedback
from app.services.accounts import create_user
from app.services.consultations import published_tally
from app.services.demo import DEMO_ORGANIZATION
from app.services.errors import Conflict, Forbidden, InvalidState, NotFound
from tests.integration.cosigning_helpers import (
    DIASPORA,
    MEXICAN,
    QUEBEC,
    WORKERS,
    without_demo_cosignatures,  # noqa: F401 - autouse fixture, applied by importing it
)

pytestmark = [pytest.mark.postgres]


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
    values = {"stance": Stance.SUPPORT, "priority": 4, "comment": "Our position."} | changes
    return feedback.save_feedback(
        user_id(email),
        item_id(code),
        feedback.FeedbackInput(**values),
        submit=submit,
        lock_version=0,
    )


def feedback_of(name: str, code: str) -> Feedback:
    return feedback.feedback_of_organization(org_id(name), item_id(code))


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


def test_a_draft_may_be_offered_for_co_signing(ctx):
    position("lead@example.org", "P1", submit=False)
    assert cosigning.invite(lead_of(DEMO_ORGANIZATION), item_id("P1"), org_id(WORKERS)).id


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


@pytest.mark.parametrize(
    ("invitee", "code", "message"),
    [
        (DEMO_ORGANIZATION, "P1", "cannot co-sign its own position"),
        (DIASPORA, "P1", "is not verified yet"),
        (MEXICAN, "P4", "already has its own position on this item"),
        (QUEBEC, "P2", "already has its own position on this item"),  # rejected still counts
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
    with pytest.raises(InvalidState, match="already has its own position"):
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

    assert [(c.organization, c.state) for c in cosigning.cosigners_of(own.id)] == [
        (WORKERS, CosignState.ACCEPTED)
    ]
    assert cosigning.accepted_cosigner_names([own.id, 12345]) == {own.id: [WORKERS]}
    cosigned = cosigning.cosigned_feedback(org_id(WORKERS), item_id("P1"))
    assert cosigned.organization == DEMO_ORGANIZATION
    assert cosigned.feedback.id == own.id
    with pytest.raises(InvalidState) as refused:
        cosigning.check_may_submit_own(org_id(WORKERS), item_id("P1"))
    assert refused.value.field == "stance"
    assert DEMO_ORGANIZATION in refused.value.message
    assert "cannot also submit its own" in refused.value.message
    # The inviting organisation and other items are not bound.
    cosigning.check_may_submit_own(org_id(DEMO_ORGANIZATION), item_id("P1"))
    cosigning.check_may_submit_own(org_id(WORKERS), item_id("P3"))
    decided = [m for m in mails_to(DEMO_ORGANIZATION) if "answer" in m.subject.lower()]
    assert len(decided) == 1 and WORKERS in decided[0].body_text
    assert "accepted" in decided[0].body_text


def test_a_withdrawn_position_no_longer_binds_its_co_signers(ctx):
    own = position("lead@example.org", "P1")
    cosigner = cosigning.invite(lead_of(DEMO_ORGANIZATION), item_id("P1"), org_id(WORKERS))
    cosigning.decide(lead_of(WORKERS), cosigner.id, accept=True)
    db.session.get(Feedback, own.id).state = FeedbackState.WITHDRAWN
    db.session.commit()

    cosigning.check_may_submit_own(org_id(WORKERS), item_id("P1"))
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
        cosigning.check_may_submit_own(org_id(WORKERS), item_id("P1"))


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
    assert cosigning.candidate_organizations(own, item_id("P4")) == [(org_id(WORKERS), WORKERS)]

    position("lead@example.org", "P1")
    everyone = cosigning.candidate_organizations(own, item_id("P1"))
    assert [name for _, name in everyone] == sorted([MEXICAN, QUEBEC, WORKERS])
    invited = cosigning.invite(lead_of(DEMO_ORGANIZATION), item_id("P1"), org_id(WORKERS))
    assert WORKERS not in [n for _, n in cosigning.candidate_organizations(own, item_id("P1"))]
    cosigning.decide(lead_of(WORKERS), invited.id, accept=False)
    assert WORKERS in [n for _, n in cosigning.candidate_organizations(own, item_id("P1"))]


def test_requests_are_listed_for_both_organisations(ctx):
    position("lead@example.org", "P1")
    cosigner = cosigning.invite(lead_of(DEMO_ORGANIZATION), item_id("P1"), org_id(WORKERS))

    [incoming] = cosigning.requests_for(org_id(WORKERS))
    assert (incoming.id, incoming.organization, incoming.item.code) == (
        cosigner.id,
        DEMO_ORGANIZATION,
        "P1",
    )
    assert incoming.consultation.slug == "leaders-summit-2021-migration"
    assert incoming.version.title_in("en")
    assert incoming.awaiting_decision
    [outgoing] = cosigning.sent_by(org_id(DEMO_ORGANIZATION))
    assert (outgoing.id, outgoing.organization) == (cosigner.id, WORKERS)
    assert cosigning.requests_for(org_id(DEMO_ORGANIZATION)) == []
    assert cosigning.sent_by(org_id(WORKERS)) == []


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
        cosigners=cosigning.cosigners_of(own.id),
        candidates=cosigning.candidate_organizations(org_id(DEMO_ORGANIZATION), item.id),
        is_lead=True,
        window_open=True,
    )
    assert str(escape(WORKERS)) in html and "Invited, awaiting an answer" in html
    assert f'action="/cosigning/{cosigner.id}/withdraw"' in html
    assert '<label for="cosigner-organization">Organisation to invite</label>' in html
    assert f'<option value="{org_id(MEXICAN)}">{MEXICAN}</option>' in html
    assert 'action="/c/leaders-summit-2021-migration/items/P1/feedback/cosigners"' in html

    read_only = render_template(
        "feedback/_cosigners.html",
        item=item,
        consultation=item.consultation,
        cosigners=cosigning.cosigners_of(own.id),
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
    assert render_template("feedback/_cosigned_notice.html", cosigned=None).strip() == ""
