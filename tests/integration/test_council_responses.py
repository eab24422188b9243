"""The council answers an item ("we asked, you said, we did") and the organisations hear back."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.consultations import council_responses
from app.extensions import db
from app.models import (
    AuditEvent,
    CosignState,
    CouncilResponse,
    Feedback,
    FeedbackCosigner,
    FeedbackState,
    Item,
    Notification,
    Organization,
    User,
)
from app.models.base import utcnow
from tests.helpers.waiting import wait_for
from tests.helpers.web import hidden_fields

pytestmark = [pytest.mark.postgres]

COUNCIL = "council@example.org"


def item_id(app, code: str = "P4") -> int:
    with app.app_context():
        return db.session.scalar(select(Item.id).where(Item.code == code))


def page(app, code: str = "P4") -> str:
    return f"/reports/items/{item_id(app, code)}/responses"


def positions(app, code: str = "P4") -> list[tuple[str, int, str]]:
    """(reference, organisation id, state) of each answerable position on the item."""
    with app.app_context():
        return [
            tuple(row)
            for row in db.session.execute(
                select(Feedback.reference, Feedback.organization_id, Feedback.state)
                .join(Item, Item.id == Feedback.item_id)
                .where(
                    Item.code == code,
                    Feedback.state.in_((FeedbackState.SUBMITTED, FeedbackState.PUBLISHED)),
                )
                .order_by(Feedback.id)
            )
        ]


def leads_of(app, organization_ids) -> set[str]:
    with app.app_context():
        return set(
            db.session.scalars(
                select(User.email).where(
                    User.organization_id.in_(organization_ids),
                    User.is_lead.is_(True),
                    User.active.is_(True),
                )
            )
        )


def mailed(app, response_id: int) -> set[str]:
    with app.app_context():
        return set(
            db.session.scalars(
                select(Notification.to_email).where(
                    Notification.dedupe_key.like(f"council-response:{response_id}:%")
                )
            )
        )


def respond(client, app, code: str = "P4", **fields: str):
    html = client.get(page(app, code)).get_data(as_text=True)
    data = {
        **hidden_fields(html),
        "decision": "partly_accepted",
        "rationale": "We will fund **shelters** in the south.",
        **fields,
    }
    return client.post(page(app, code), data=data)


def latest_response(app) -> CouncilResponse:
    with app.app_context():
        found = db.session.scalar(select(CouncilResponse).order_by(CouncilResponse.id.desc()))
        db.session.expunge_all()
        return found


def test_a_draft_stays_private_until_published(seeded, client, login):
    login(client, COUNCIL)
    response = respond(client, seeded, theme="Shelter capacity", save_draft="1")
    assert response.status_code == 302
    draft = latest_response(seeded)
    assert draft.published_at is None and draft.theme == "Shelter capacity"
    item_page = "/c/leaders-summit-2021-migration/items/P4"
    assert "Shelter capacity" not in seeded.test_client().get(item_page).get_data(as_text=True)
    assert mailed(seeded, draft.id) == set()

    token = hidden_fields(client.get(page(seeded)).get_data(as_text=True))
    assert client.post(f"/reports/responses/{draft.id}/publish", data=token).status_code == 302
    public = seeded.test_client().get(item_page).get_data(as_text=True)
    assert "Theme: Shelter capacity" in public and "<strong>shelters</strong>" in public
    again = client.post(f"/reports/responses/{draft.id}/publish", data=token)
    assert again.status_code == 409 and "already published" in again.get_data(as_text=True)
    with seeded.app_context():
        actions = db.session.scalars(
            select(AuditEvent.action).where(
                AuditEvent.target_type == "council_response", AuditEvent.target_id == draft.id
            )
        ).all()
    assert sorted(actions) == ["council_response.create", "council_response.publish"]


def published_without_task(app, references: list[str] = ()) -> int:
    """A published response whose notification no worker has picked up: the test runs it."""
    with app.app_context():
        item = db.session.get(Item, item_id(app))
        response = CouncilResponse(
            consultation_id=item.consultation_id,
            item_id=item.id,
            decision="partly_accepted",
            rationale="We will fund shelters in the south.",
            published_at=utcnow(),
            feedback=list(
                db.session.scalars(select(Feedback).where(Feedback.reference.in_(references)))
            ),
        )
        db.session.add(response)
        db.session.commit()
        return response.id


def test_a_response_to_named_submissions_tells_those_organisations_only(seeded):
    reference, organization_id, _state = positions(seeded)[0]
    response_id = published_without_task(seeded, [reference])
    with seeded.app_context():
        assert council_responses.notify_concerned(response_id) > 0
        assert council_responses.notify_concerned(response_id) == 0  # done: nothing twice
        cosigners = db.session.scalars(
            select(FeedbackCosigner.organization_id)
            .join(Feedback, Feedback.id == FeedbackCosigner.feedback_id)
            .where(Feedback.reference == reference, FeedbackCosigner.state == CosignState.ACCEPTED)
        ).all()
        assert db.session.get(CouncilResponse, response_id).notified_at is not None
    # The organisation that wrote it and those that co-signed it; nobody else.
    assert mailed(seeded, response_id) == leads_of(seeded, [organization_id, *cosigners])
    others = {org for _ref, org, _state in positions(seeded)} - {organization_id, *cosigners}
    assert others and not leads_of(seeded, others) & mailed(seeded, response_id)


def test_a_response_naming_nobody_tells_every_organisation_and_co_signer(seeded):
    with seeded.app_context():
        cosigners = db.session.scalars(
            select(FeedbackCosigner.organization_id)
            .join(Feedback, Feedback.id == FeedbackCosigner.feedback_id)
            .join(Item, Item.id == Feedback.item_id)
            .where(Item.code == "P4", FeedbackCosigner.state == CosignState.ACCEPTED)
        ).all()
    assert cosigners, "the demo data has an accepted co-signature on P4"
    concerned = {org for _ref, org, _state in positions(seeded)} | set(cosigners)
    response_id = published_without_task(seeded)
    with seeded.app_context():
        council_responses.notify_concerned(response_id, batch=1)  # one organisation a batch
    assert len(concerned) >= 3
    assert mailed(seeded, response_id) == leads_of(seeded, concerned)


def count_responses(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(CouncilResponse.id)))


def test_bad_input_is_refused_with_the_text_kept(seeded, client, login):
    login(client, COUNCIL)
    before = count_responses(seeded)
    unknown = respond(client, seeded, references="FB-0000000000000000", publish="1")
    body = unknown.get_data(as_text=True)
    assert unknown.status_code == 422
    assert "No submission on this item has the reference FB-0000000000000000" in body
    assert "We will fund **shelters** in the south." in body
    elsewhere = positions(seeded, "P2")[0][0]  # a real reference, but of another item
    assert respond(client, seeded, references=elsewhere).status_code == 422
    assert respond(client, seeded, rationale="   ", publish="1").status_code == 422
    assert respond(client, seeded, decision="", publish="1").status_code == 422
    assert respond(client, seeded, decision="maybe", publish="1").status_code == 422
    assert count_responses(seeded) == before


def test_the_worker_mails_the_leads_in_their_language(
    seeded, client, login, celery_worker, mail_catcher
):
    login(client, COUNCIL)
    rationale = f"Shelters will open in Tapachula ({uuid.uuid4().hex[:8]})."  # this test's own
    assert respond(client, seeded, publish="1", rationale=rationale).status_code == 302
    with seeded.app_context():
        spanish = db.session.scalar(
            select(User.email)
            .join(Organization, Organization.id == User.organization_id)
            .where(Organization.name == "Red Fronteriza de Acogida", User.is_lead.is_(True))
        )

    def this_response():  # the session's catcher also holds other tests' messages
        return next(
            (
                m
                for m in mail_catcher.messages
                if m["To"] == spanish and rationale in m.get_content()
            ),
            None,
        )

    message = wait_for(this_response)
    assert message["Subject"] == "El consejo ha respondido a las aportaciones en Consulta"
    body = message.get_content()
    assert "Aceptada en parte" in body  # the decision, in the lead's language
    assert "/c/leaders-summit-2021-migration/items/P4" in body
    wait_for(lambda: latest_response(seeded).notified_at is not None)


def test_the_reconciler_sends_a_lost_notification_again(seeded):
    with seeded.app_context():
        item = db.session.get(Item, item_id(seeded))
        lost = CouncilResponse(  # published, but its task never arrived
            consultation_id=item.consultation_id,
            item_id=item.id,
            decision="accepted",
            rationale="Lost in the post.",
            published_at=utcnow() - timedelta(minutes=10),
        )
        recent = CouncilResponse(  # its task may still be on its way
            consultation_id=item.consultation_id,
            item_id=item.id,
            decision="accepted",
            rationale="Just sent.",
            published_at=utcnow(),
        )
        db.session.add_all([lost, recent])
        db.session.commit()
        # The session's database also holds other tests' responses: only these two matter.
        resent = council_responses.reconcile_notifications()
        assert lost.id in resent and recent.id not in resent
        lost_id = lost.id
        # Told here, or by the session's worker if the re-sent task reached it first: either
        # way exactly once (the row lock), and then the reconciler leaves it alone.
        council_responses.notify_concerned(lost_id)

        def notified():
            db.session.expire_all()
            return db.session.get(CouncilResponse, lost_id).notified_at is not None

        wait_for(notified)
        assert lost_id not in council_responses.reconcile_notifications()
        assert mailed(seeded, lost_id)


def test_the_rationale_is_counted_and_an_overlong_one_is_refused_with_its_text_kept(
    seeded, client, login
):
    login(client, COUNCIL)
    form = client.get(page(seeded)).get_data(as_text=True)
    assert 'data-module="govuk-character-count" data-maxlength="10000"' in form
    assert 'data-module="govuk-character-count" data-maxlength="20000"' in form  # references
    assert " maxlength=" not in form  # the theme's limit is checked, never cut
    before = count_responses(seeded)
    typed = "The council will fund shelters. " * 320  # 10,240 characters
    refused = respond(client, seeded, rationale=typed, publish="1")
    body = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert 'href="#rationale"' in body and "Field cannot be longer than 10000 characters." in body
    assert typed in body
    assert count_responses(seeded) == before
