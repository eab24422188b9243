"""Co-signing through the browser: inviting, answering, and what the public tally shows."""

from __future__ import annotations

import re

import pytest
from markupsafe import escape
from sqlalchemy import select

from app.accounts.services import create_user
from app.dev.demo import DEMO_ORGANIZATION
from app.extensions import db
from app.models import (
    CosignState,
    Feedback,
    FeedbackCosigner,
    Item,
    Notification,
    Organization,
    Redaction,
    User,
)
from tests.helpers.cosigning import DIASPORA, MEXICAN, WORKERS
from tests.helpers.web import DEMO_PASSWORD, csrf_token, submit_form

pytestmark = [pytest.mark.postgres, pytest.mark.usefixtures("without_demo_cosignatures")]


CONSULTATION = "/c/leaders-summit-2021-migration"
REQUESTS = "/organisation/cosigning"


def feedback_page(code: str) -> str:
    return f"{CONSULTATION}/items/{code}/feedback"


def invite_url(code: str) -> str:
    return f"{feedback_page(code)}/cosigners"


def org_id(app, name: str) -> int:
    with app.app_context():
        return db.session.scalar(select(Organization.id).where(Organization.name == name))


def add_lead(app, organization: str, email: str) -> None:
    """A lead with the demo password (the demo organisations' own leads have random ones)."""
    with app.app_context():
        create_user(
            email,
            f"Lead of {organization}",
            DEMO_PASSWORD,
            organization=db.session.scalar(
                select(Organization).where(Organization.name == organization)
            ),
            is_lead=True,
        )
        db.session.commit()


def invite(client, code: str, organization_id: object):
    token = csrf_token(client.get(feedback_page(code)).get_data(as_text=True))
    return client.post(
        invite_url(code), data={"csrf_token": token, "organization_id": str(organization_id)}
    )


def submit_position(client, code: str, **fields: str) -> None:
    values = {"stance": "support", "priority": "4", "comment": "Ours.", "submit": "S"} | fields
    response = submit_form(client, feedback_page(code), **values)
    assert response.status_code == 302


def cosigner_rows(app) -> list[FeedbackCosigner]:
    with app.app_context():
        rows = list(db.session.scalars(select(FeedbackCosigner).order_by(FeedbackCosigner.id)))
        db.session.expunge_all()
        return rows


def sign_out(client) -> None:
    client.post("/auth/logout", data={"csrf_token": csrf_token(client.get("/").get_data(True))})


def add_member(app, organization: str, email: str) -> None:
    with app.app_context():
        create_user(
            email,
            f"Member of {organization}",
            DEMO_PASSWORD,
            organization=db.session.scalar(
                select(Organization).where(Organization.name == organization)
            ),
        )
        db.session.commit()


def answer(client, cosigner_id: int, decision: str):
    token = csrf_token(client.get(REQUESTS).get_data(as_text=True))
    return client.post(f"/cosigning/{cosigner_id}/{decision}", data={"csrf_token": token})


@pytest.fixture
def invited(seeded, client, login):
    """The demo lead submitted on P1 and invited the workers' centre, whose lead is signed out."""
    add_lead(seeded, WORKERS, "lead@workers.example.org")
    login(client, "lead@example.org")
    submit_position(client, "P1")
    assert invite(client, "P1", org_id(seeded, WORKERS)).status_code == 302
    client.post("/auth/logout", data={"csrf_token": csrf_token(client.get("/").get_data(True))})
    [cosigner] = cosigner_rows(seeded)
    return cosigner


def test_the_lead_invites_an_organisation_and_its_leads_are_mailed(seeded, client, login):
    login(client, "lead@example.org")
    submit_position(client, "P1")

    response = invite(client, "P1", org_id(seeded, WORKERS))

    assert response.status_code == 302
    assert response.headers["Location"] == feedback_page("P1")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert f"{escape(WORKERS)} is invited to co-sign." in page
    [cosigner] = cosigner_rows(seeded)
    assert cosigner.state is CosignState.INVITED
    with seeded.app_context():
        recipients = db.session.scalars(
            select(Notification.to_email).where(Notification.subject.contains("co-sign"))
        ).all()
    assert recipients == ["member3@demo.example.org"]


def test_a_member_who_is_not_the_lead_cannot_invite(seeded, client, login):
    login(client, "lead@example.org")
    submit_position(client, "P1")
    client.post("/auth/logout", data={"csrf_token": csrf_token(client.get("/").get_data(True))})
    login(client, "stakeholder@example.org")

    assert invite(client, "P1", org_id(seeded, WORKERS)).status_code == 403
    assert cosigner_rows(seeded) == []


@pytest.mark.parametrize(
    ("invitee", "code", "message"),
    [
        (DEMO_ORGANIZATION, "P1", "cannot co-sign its own position"),
        (DIASPORA, "P1", "is not verified yet"),
        (MEXICAN, "P4", "cannot be invited to co-sign on this item."),
    ],
)
def test_an_organisation_that_cannot_co_sign_is_refused_with_the_reason(
    seeded, client, login, invitee, code, message
):
    login(client, "lead@example.org")
    submit_position(client, code)

    response = invite(client, code, org_id(seeded, invitee))

    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert message in page
    assert cosigner_rows(seeded) == []


@pytest.mark.parametrize("forged", ["999999", "abc", "99999999999999999999999"])
def test_a_forged_organisation_id_is_a_404(seeded, client, login, forged):
    login(client, "lead@example.org")
    submit_position(client, "P1")
    assert invite(client, "P1", forged).status_code == 404


def test_inviting_without_choosing_is_explained(seeded, client, login):
    login(client, "lead@example.org")
    submit_position(client, "P1")
    response = invite(client, "P1", "")
    assert response.status_code == 302
    assert "Choose an organisation to invite." in client.get(feedback_page("P1")).get_data(True)


def test_the_invited_lead_accepts_and_is_listed_as_co_signer(invited, seeded, client, login):
    login(client, "lead@workers.example.org")
    page = client.get(REQUESTS).get_data(as_text=True)
    assert DEMO_ORGANIZATION in page and "Invited, awaiting an answer" in page

    response = answer(client, invited.id, "accept")

    assert response.status_code == 302 and response.headers["Location"] == REQUESTS
    assert "You co-sign this position." in client.get(REQUESTS).get_data(as_text=True)
    assert cosigner_rows(seeded)[0].state is CosignState.ACCEPTED
    client.post("/auth/logout", data={"csrf_token": csrf_token(client.get("/").get_data(True))})
    login(client, "lead@example.org")
    sent = client.get(REQUESTS).get_data(as_text=True).split("Invitations your organisation sent")
    assert str(escape(WORKERS)) in sent[1] and "Co-signs" in sent[1]
    with seeded.app_context():
        answered = db.session.scalar(
            select(Notification).where(
                Notification.to_email == "lead@example.org",
                Notification.subject.contains("co-sign"),
            )
        )
    assert "accepted to co-sign" in answered.body_text


def test_the_invited_lead_declines(invited, seeded, client, login):
    login(client, "lead@workers.example.org")
    response = answer(client, invited.id, "decline")
    assert response.status_code == 302
    assert "Request declined." in client.get(REQUESTS).get_data(as_text=True)
    assert cosigner_rows(seeded)[0].state is CosignState.DECLINED


def test_accepting_twice_is_explained_not_an_error_page(invited, seeded, client, login):
    login(client, "lead@workers.example.org")
    answer(client, invited.id, "decline")
    response = answer(client, invited.id, "accept")
    assert response.status_code == 302
    assert "already been answered" in client.get(REQUESTS).get_data(as_text=True)


def test_another_organisations_lead_cannot_answer(invited, seeded, client, login):
    add_lead(seeded, MEXICAN, "lead@mexico.example.org")
    login(client, "lead@mexico.example.org")
    assert answer(client, invited.id, "accept").status_code == 404
    assert answer(client, invited.id, "decline").status_code == 404
    assert cosigner_rows(seeded)[0].state is CosignState.INVITED


def test_a_forged_cosigner_id_is_a_404(invited, seeded, client, login):
    login(client, "lead@workers.example.org")
    assert answer(client, 999_999, "accept").status_code == 404
    token = csrf_token(client.get(REQUESTS).get_data(as_text=True))
    assert client.post("/cosigning/999999/withdraw", data={"csrf_token": token}).status_code == 404


def test_a_member_who_is_not_the_lead_sees_requests_read_only(invited, seeded, client, login):
    with seeded.app_context():
        create_user(
            "member@workers.example.org",
            "Workers Member",
            DEMO_PASSWORD,
            organization=db.session.scalar(
                select(Organization).where(Organization.name == WORKERS)
            ),
        )
        db.session.commit()
    login(client, "member@workers.example.org")
    page = client.get(REQUESTS).get_data(as_text=True)
    assert DEMO_ORGANIZATION in page
    assert "Only your organisation's lead can answer these requests." in page
    assert f"/cosigning/{invited.id}/accept" not in page
    assert answer(client, invited.id, "accept").status_code == 403


def test_the_requests_page_is_for_signed_in_stakeholders(seeded, client, login):
    assert client.get(REQUESTS).status_code == 302  # to the sign-in page
    login(client, "moderator@example.org")
    assert client.get(REQUESTS).status_code == 403


def test_the_inviting_lead_withdraws_an_invitation(invited, seeded, client, login):
    login(client, "lead@example.org")
    page = client.get(REQUESTS).get_data(as_text=True)
    assert f'action="/cosigning/{invited.id}/withdraw"' in page

    response = client.post(
        f"/cosigning/{invited.id}/withdraw", data={"csrf_token": csrf_token(page)}
    )

    assert response.status_code == 302
    assert response.headers["Location"] == feedback_page("P1")
    assert "Invitation withdrawn." in client.get(feedback_page("P1")).get_data(as_text=True)
    assert cosigner_rows(seeded) == []


def test_an_accepted_co_signer_counts_in_the_public_tally(seeded, client, login):
    add_lead(seeded, MEXICAN, "lead@mexico.example.org")
    add_lead(seeded, WORKERS, "lead@workers.example.org")
    item_page = f"{CONSULTATION}/items/P4"

    def support_count() -> int:
        page = client.get(item_page).get_data(as_text=True)
        return int(re.search(r'data-stance="support">(\d+)<', page).group(1))

    before = support_count()
    login(client, "lead@mexico.example.org")
    assert invite(client, "P4", org_id(seeded, WORKERS)).status_code == 302
    client.post("/auth/logout", data={"csrf_token": csrf_token(client.get("/").get_data(True))})
    login(client, "lead@workers.example.org")
    [cosigner] = cosigner_rows(seeded)
    assert support_count() == before  # an invitation alone counts for nothing
    answer(client, cosigner.id, "accept")

    assert support_count() == before + 1


def test_a_co_signing_organisation_is_told_it_cannot_submit_its_own(invited, seeded, client, login):
    from app.errors import InvalidState
    from app.feedback import cosigning

    login(client, "lead@workers.example.org")
    answer(client, invited.id, "accept")
    with seeded.app_context():
        p1 = db.session.scalar(select(Item.id).where(Item.code == "P1"))
        workers = db.session.scalar(select(User.organization_id).where(User.email.like("lead@w%")))
        with pytest.raises(InvalidState, match=f"position of {DEMO_ORGANIZATION}"):
            cosigning.lock_for_own_submission(workers, p1)


PUBLIC_WORDS = "Shelters need multi-year funding. Call Ana on +1 555 0100."
COUNCIL_WORDS = "Between us: the ministry will not fund this."


def test_only_what_may_be_read_of_the_position_is_shown_and_only_to_whom(seeded, client, login):
    add_lead(seeded, WORKERS, "lead@workers.example.org")
    add_member(seeded, WORKERS, "member@workers.example.org")
    login(client, "lead@example.org")
    submit_position(
        client,
        "P1",
        stance="support_with_amendments",
        comment=PUBLIC_WORDS,
        amendment=COUNCIL_WORDS,
        amendment_disclosure="council_only",
    )
    assert invite(client, "P1", org_id(seeded, WORKERS)).status_code == 302
    sign_out(client)
    with seeded.app_context():
        own = db.session.scalar(select(Feedback).where(Feedback.comment == PUBLIC_WORDS))
        start = PUBLIC_WORDS.index("+1 555 0100")
        db.session.add(
            Redaction(feedback_id=own.id, field="comment", start=start, end=start + 11, reason="-")
        )
        db.session.commit()

    login(client, "lead@workers.example.org")
    page = client.get(REQUESTS).get_data(as_text=True)
    assert "Read the position" in page
    assert "Shelters need multi-year funding. Call Ana on [redacted]." in page
    assert "555 0100" not in page
    assert COUNCIL_WORDS not in page and "shared with the council only" in page
    sign_out(client)

    login(client, "member@workers.example.org")  # not the lead: nothing until they co-sign
    page = client.get(REQUESTS).get_data(as_text=True)
    assert DEMO_ORGANIZATION in page
    assert "Read the position" not in page and "Shelters" not in page
    sign_out(client)

    login(client, "lead@workers.example.org")
    [cosigner] = cosigner_rows(seeded)
    answer(client, cosigner.id, "decline")
    page = client.get(REQUESTS).get_data(as_text=True)
    assert "Read the position" not in page and "Shelters" not in page


def test_a_draft_can_be_declined_but_not_co_signed_until_submitted(seeded, client, login):
    add_lead(seeded, WORKERS, "lead@workers.example.org")
    login(client, "lead@example.org")
    response = submit_form(
        client, feedback_page("P1"), stance="support", priority="4", comment="Ours."
    )
    assert response.status_code == 302
    assert invite(client, "P1", org_id(seeded, WORKERS)).status_code == 302
    sign_out(client)
    login(client, "lead@workers.example.org")
    [cosigner] = cosigner_rows(seeded)

    page = client.get(REQUESTS).get_data(as_text=True)
    assert f"/cosigning/{cosigner.id}/accept" not in page
    assert f"/cosigning/{cosigner.id}/decline" in page
    assert "You can co-sign once" in page
    response = answer(client, cosigner.id, "accept")  # a forged or stale form

    assert response.status_code == 302
    assert "must be submitted before" in client.get(REQUESTS).get_data(as_text=True)
    assert cosigner_rows(seeded)[0].state is CosignState.INVITED


def leave(client, cosigner_id: int):
    token = csrf_token(client.get(REQUESTS).get_data(as_text=True))
    return client.post(f"/cosigning/{cosigner_id}/leave", data={"csrf_token": token})


def test_the_co_signing_lead_stops_co_signing(invited, seeded, client, login):
    login(client, "lead@workers.example.org")
    page = client.get(REQUESTS).get_data(as_text=True)
    assert f"/cosigning/{invited.id}/leave" not in page  # only once co-signed
    answer(client, invited.id, "accept")
    page = client.get(REQUESTS).get_data(as_text=True)
    assert f'action="/cosigning/{invited.id}/leave"' in page
    label = f"Stop co-signing the position of {DEMO_ORGANIZATION} on P1"
    button = rf'aria-label="{re.escape(str(escape(label)))}"[^>]*>\s*Stop co-signing\s*</button>'
    assert re.search(button, page)

    response = leave(client, invited.id)

    assert response.status_code == 302 and response.headers["Location"] == REQUESTS
    page = client.get(REQUESTS).get_data(as_text=True)
    assert "Your organisation no longer co-signs this position." in page
    assert f"/cosigning/{invited.id}/leave" not in page
    assert cosigner_rows(seeded)[0].state is CosignState.DECLINED
    with seeded.app_context():
        told = db.session.scalar(
            select(Notification).where(
                Notification.to_email == "lead@example.org",
                Notification.body_text.contains("no longer co-signs"),
            )
        )
    assert told is not None and WORKERS in told.body_text
    response = leave(client, invited.id)  # a second time: explained, not an error page
    assert response.status_code == 302
    assert "does not co-sign this position" in client.get(REQUESTS).get_data(as_text=True)


def test_only_the_co_signing_lead_may_stop_co_signing(invited, seeded, client, login):
    login(client, "lead@workers.example.org")
    answer(client, invited.id, "accept")
    sign_out(client)
    add_member(seeded, WORKERS, "member@workers.example.org")
    login(client, "member@workers.example.org")
    page = client.get(REQUESTS).get_data(as_text=True)
    assert "/leave" not in page
    assert leave(client, invited.id).status_code == 403
    sign_out(client)
    login(client, "lead@example.org")  # the inviting lead
    assert leave(client, invited.id).status_code == 404
    assert leave(client, 999_999).status_code == 404
    assert cosigner_rows(seeded)[0].state is CosignState.ACCEPTED
