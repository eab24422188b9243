"""The organisation workflow: the lead signs off, revisions, withdrawal, receipts, autosave,
the organisation's dashboard and the public listing (pages and redactions)."""

from __future__ import annotations

import contextlib
import html
import re
from concurrent.futures import ThreadPoolExecutor
from threading import Barrier, BrokenBarrierError

import pytest
from sqlalchemy import select, update

from app.dev.demo import DEMO_ORGANIZATION
from app.extensions import db
from app.feedback import batch as draft_batch
from app.feedback import services as feedback_service
from app.feedback.batch import BatchInvalid
from app.feedback.feedback_input import FeedbackInput, InvalidInput
from app.models import (
    Feedback,
    FeedbackCosigner,
    FeedbackRevision,
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
from tests.helpers.feedback import (
    FORM,
    ITEM,
    LEAD,
    MEMBER,
    SLUG,
    add_published_feedback,
    close_window,
    our_feedback,
    publish,
)
from tests.helpers.web import csrf_token, hidden_fields, submit_form

pytestmark = [pytest.mark.postgres]

DRAFT = f"{FORM}/draft"
WITHDRAW = f"{FORM}/withdraw"
REVISIONS = f"{FORM}/revisions"
DASHBOARD = "/organisation/feedback"
RECEIPT_SUBJECT = "Receipt for your organisation's feedback on Consulta"


# --- helpers ---------------------------------------------------------------------------------


def revisions_of(app, feedback_id: int) -> list[tuple[int, str | None, str]]:
    """(number, author's email, state in the snapshot) of every revision, oldest first."""
    with app.app_context():
        rows = db.session.execute(
            select(FeedbackRevision, User.email)
            .outerjoin(User, User.id == FeedbackRevision.author_id)
            .where(FeedbackRevision.feedback_id == feedback_id)
            .order_by(FeedbackRevision.number)
        ).all()
        return [(rev.number, email, rev.snapshot["state"]) for rev, email in rows]


def receipts(app, feedback_id: int | None = None) -> list[Notification]:
    with app.app_context():
        key = f"feedback_receipt:{feedback_id}:%" if feedback_id else "feedback_receipt:%"
        rows = db.session.scalars(
            select(Notification).where(Notification.dedupe_key.like(key)).order_by(Notification.id)
        ).all()
        db.session.expunge_all()
        return list(rows)


def lock_version_of(page: str) -> str:
    return re.search(r'name="lock_version"[^>]*value="(\d+)"', page)[1]


def post_from(client, page: str, url: str = FORM, **fields):
    """POST `fields` with the hidden inputs (CSRF token, lock version) of an earlier `page`."""
    return client.post(url, data={**hidden_fields(page), **fields})


def tally_of(page: str, stance: str) -> int:
    return int(re.search(rf'data-stance="{stance}">(\d+)<', page)[1])


def text_of(response) -> str:
    """The page with entities decoded, for messages that contain apostrophes."""
    return html.unescape(response.get_data(as_text=True))


ANSWER = {"stance": "support", "priority": "4"}


# --- 1. only the lead submits ----------------------------------------------------------------


def test_a_member_drafts_but_cannot_submit(seeded, client, login):
    login(client, MEMBER)
    page = client.get(FORM).get_data(as_text=True)
    assert re.search(r'<button[^>]*name="save"[^>]*>\s*Save draft\s*</button>', page)
    assert 'name="submit"' not in page  # no Submit button for a non-lead
    assert "lead signs off and submits" in page

    response = post_from(
        client, page, **ANSWER, comment="Typed by a member", submit="Submit feedback"
    )
    assert response.status_code == 403
    body = text_of(response)
    assert "Typed by a member" in body  # the text is not lost
    assert "Only your organisation's lead can sign off and submit its position." in body
    assert our_feedback(seeded) is None  # nothing stored, nothing submitted
    assert receipts(seeded) == []

    # The same member's draft is accepted.
    response = post_from(client, page, **ANSWER, comment="Typed by a member", save="Save draft")
    assert response.status_code == 302
    stored = our_feedback(seeded)
    assert stored.state is FeedbackState.DRAFT
    assert stored.comment == "Typed by a member"
    assert revisions_of(seeded, stored.id) == []


# --- 2. the lead submits: revision, receipt, language ----------------------------------------

SPANISH = "Los albergues del norte necesitan más recursos para acoger a las familias migrantes."
ENGLISH = "Shelters in the north need more resources to receive migrant families safely."


def test_the_lead_submits_with_a_receipt_and_the_language_detected(seeded, client, login):
    login(client, LEAD)
    response = submit_form(client, FORM, **ANSWER, comment=SPANISH, submit="Submit feedback")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(ITEM)
    fb = our_feedback(seeded)
    assert fb.state is FeedbackState.SUBMITTED
    assert fb.language == "es"
    assert fb.submitted_at is not None
    assert revisions_of(seeded, fb.id) == [(1, LEAD, "submitted")]
    [receipt] = receipts(seeded, fb.id)
    assert receipt.to_email == LEAD
    assert receipt.subject == RECEIPT_SUBJECT
    assert fb.reference in receipt.body_text
    assert "P1" in receipt.body_text
    assert DEMO_ORGANIZATION in receipt.body_text
    # The page the lead lands on thanks them with the same reference.
    assert fb.reference in client.get(ITEM).get_data(as_text=True)

    english_form = f"/c/{SLUG}/items/P2/feedback"
    response = submit_form(
        client, english_form, **ANSWER, comment=ENGLISH, submit="Submit feedback"
    )
    assert response.status_code == 302
    english = our_feedback(seeded, "P2")
    assert english.language == "en"
    assert len(receipts(seeded, english.id)) == 1
    assert len(receipts(seeded)) == 2


# --- 3. later changes are revisions with a diff ----------------------------------------------


def test_each_change_is_a_revision_with_author_and_word_diff(seeded, client, login):
    login(client, LEAD)
    first = "We support the plan for regional shelters with legal aid."
    second = "We support the plan for regional processing centres with legal aid."
    submit_form(client, FORM, **ANSWER, comment=first, submit="Submit feedback")
    page = client.get(FORM).get_data(as_text=True)
    # the lead may still change it
    assert re.search(r'<button[^>]*name="submit"[^>]*>\s*Submit changes\s*</button>', page)
    response = post_from(client, page, **ANSWER, comment=second, submit="Submit changes")
    assert response.status_code == 302

    fb = our_feedback(seeded)
    assert fb.state is FeedbackState.SUBMITTED
    assert fb.comment == second
    assert revisions_of(seeded, fb.id) == [(1, LEAD, "submitted"), (2, LEAD, "submitted")]
    assert len(receipts(seeded, fb.id)) == 2  # a receipt per revision

    history = client.get(REVISIONS)
    assert history.status_code == 200
    listing = history.get_data(as_text=True)
    assert "Revision 1:" in listing and "Revision 2:" in listing
    assert listing.index("Revision 2:") < listing.index("Revision 1:")  # newest first
    assert listing.count("By Lee Lead") == 2
    second_entry = listing[listing.index("Revision 2:") : listing.index("Revision 1:")]
    removed = " ".join(re.findall(r"<del>(.*?)</del>", second_entry, re.S))
    added = " ".join(re.findall(r"<ins>(.*?)</ins>", second_entry, re.S))
    assert "shelters" in removed and "processing" not in removed
    assert "processing centres" in added and "shelters" not in added

    # A published position that the lead changes goes back to the moderators: the form says
    # so before the lead submits, and the page after says so too.
    publish(seeded, fb.id)
    page = client.get(FORM).get_data(as_text=True)
    assert "Submitting changes takes your published position off the public page." in page
    assert 'aria-describedby="resubmit-notice"' in page
    third = "We support the plan for regional processing centres with free legal aid."
    response = post_from(client, page, **ANSWER, comment=third, submit="Submit changes")
    assert response.status_code == 302
    after = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "your published position is hidden from the public page until" in after
    assert "Thank you. Your feedback was submitted" not in after
    fb = our_feedback(seeded)
    assert fb.state is FeedbackState.SUBMITTED
    assert fb.comment == third
    assert [number for number, _, _ in revisions_of(seeded, fb.id)] == [1, 2, 3]
    assert third not in client.get(ITEM).get_data(as_text=True)  # not public before review


# --- 4. a member cannot change a submitted position ------------------------------------------


def test_a_member_cannot_change_the_submitted_position(seeded, app, login):
    lead, member = app.test_client(), app.test_client()
    login(lead, LEAD)
    login(member, MEMBER)
    submit_form(lead, FORM, **ANSWER, comment="The signed-off position", submit="Submit")
    before = our_feedback(seeded)

    page = member.get(FORM).get_data(as_text=True)
    assert "Only its lead can change or withdraw it." in html.unescape(page)
    response = post_from(member, page, **ANSWER, comment="A member's rewrite", save="Save draft")
    assert response.status_code == 409
    assert "your lead submits changes to it" in text_of(response)
    assert "A member's rewrite" in text_of(response)  # kept on the page
    response = post_from(member, page, **ANSWER, comment="A member's rewrite", submit="Submit")
    assert response.status_code == 403

    after = our_feedback(seeded)
    assert after.comment == "The signed-off position"
    assert after.state is FeedbackState.SUBMITTED
    assert after.lock_version == before.lock_version
    assert len(revisions_of(seeded, after.id)) == 1


# --- 5. withdrawal ---------------------------------------------------------------------------


def test_the_lead_withdraws_and_can_submit_again(seeded, app, login):
    lead, member, visitor = app.test_client(), app.test_client(), app.test_client()
    login(lead, LEAD)
    login(member, MEMBER)
    comment = "Regional shelters must be funded for the long term."
    submit_form(lead, FORM, stance="oppose", priority="5", comment=comment, submit="Submit")
    fb = our_feedback(seeded)
    publish(seeded, fb.id)
    public = visitor.get(ITEM).get_data(as_text=True)
    assert comment in public
    assert tally_of(public, "oppose") == 1

    # A member's withdrawal changes nothing.
    member_page = member.get(FORM).get_data(as_text=True)
    assert "Withdraw our position" not in member_page
    response = member.post(
        WITHDRAW,
        data={"csrf_token": csrf_token(member_page), "lock_version": str(fb.lock_version)},
        follow_redirects=True,
    )
    assert "Only your organisation's lead can withdraw its position." in text_of(response)
    assert our_feedback(seeded).state is FeedbackState.PUBLISHED

    # A stale page is refused.
    lead_page = lead.get(FORM).get_data(as_text=True)
    assert "Withdraw our position" in lead_page
    response = lead.post(
        WITHDRAW,
        data={"csrf_token": csrf_token(lead_page), "lock_version": str(fb.lock_version - 1)},
        follow_redirects=True,
    )
    assert "A colleague saved this feedback after you opened it." in text_of(response)
    assert our_feedback(seeded).state is FeedbackState.PUBLISHED

    response = post_from(lead, lead_page, url=WITHDRAW, withdraw="Withdraw our position")
    assert response.status_code == 302
    withdrawn = our_feedback(seeded)
    assert withdrawn.state is FeedbackState.WITHDRAWN
    assert revisions_of(seeded, fb.id)[-1] == (2, LEAD, "withdrawn")
    public = visitor.get(ITEM).get_data(as_text=True)
    assert comment not in public
    assert tally_of(public, "oppose") == 0
    assert "No feedback has been published yet." in public

    # Saving turns it back into a draft, which can be submitted again.
    response = submit_form(lead, FORM, stance="oppose", priority="5", comment="Back", save="S")
    assert response.status_code == 302
    assert our_feedback(seeded).state is FeedbackState.DRAFT
    response = submit_form(lead, FORM, stance="oppose", priority="5", comment="Back", submit="S")
    assert response.status_code == 302
    again = our_feedback(seeded)
    assert again.state is FeedbackState.SUBMITTED
    assert again.reference == fb.reference
    assert [state for _, _, state in revisions_of(seeded, fb.id)] == [
        "submitted",
        "withdrawn",
        "submitted",
    ]

    # Once the window has closed, the position stays as it is.
    lead_page = lead.get(FORM).get_data(as_text=True)
    close_window(seeded)
    response = post_from(lead, lead_page, url=WITHDRAW, withdraw="Withdraw our position")
    assert response.status_code == 302
    followed = lead.get(response.headers["Location"])
    assert "The comment window has closed: the position stays as it is." in text_of(followed)
    assert our_feedback(seeded).state is FeedbackState.SUBMITTED
    assert len(revisions_of(seeded, fb.id)) == 3


# --- 6. a double click submits once ----------------------------------------------------------


def test_a_double_click_submits_once(seeded, client, login):
    login(client, LEAD)
    page = client.get(FORM).get_data(as_text=True)
    fields = {**ANSWER, "comment": "Clicked twice", "submit": "Submit feedback"}
    first = post_from(client, page, **fields)
    second = post_from(client, page, **fields)
    assert (first.status_code, second.status_code) == (302, 302)
    fb = our_feedback(seeded)
    assert fb.state is FeedbackState.SUBMITTED
    assert len(revisions_of(seeded, fb.id)) == 1
    assert len(receipts(seeded)) == 1


# --- 7. an expired token or session keeps the text -------------------------------------------


def test_an_expired_csrf_token_is_a_400_that_keeps_the_text(seeded, client, login):
    login(client, LEAD)
    page = client.get(FORM).get_data(as_text=True)
    response = client.post(
        FORM,
        data={
            **hidden_fields(page),
            "csrf_token": "expired-token",
            **ANSWER,
            "comment": "Typed over a long lunch",
            "save": "Save draft",
        },
    )
    body = text_of(response)
    assert "Typed over a long lunch" in body
    assert "This page was open for a long time" in body
    assert our_feedback(seeded) is None
    assert response.status_code == 400


def test_an_expired_csrf_token_keeps_the_text_and_stores_nothing(seeded, client, login):
    """The part of the expired-token behaviour that works today (the status aside)."""
    login(client, LEAD)
    page = client.get(FORM).get_data(as_text=True)
    response = post_from(
        client, page, csrf_token="expired-token", **ANSWER, comment="Typed at lunch", submit="S"
    )
    assert response.status_code in (400, 422)
    body = text_of(response)
    assert "Typed at lunch" in body
    assert "This page was open for a long time" in body
    assert our_feedback(seeded) is None
    assert receipts(seeded) == []


def test_an_expired_session_keeps_the_text(seeded, app, login):
    member = app.test_client()
    login(member, LEAD)
    page = member.get(FORM).get_data(as_text=True)

    anonymous = app.test_client()
    response = post_from(anonymous, page, **ANSWER, comment="Typed before a timeout", save="S")
    assert response.status_code == 401
    body = text_of(response)
    assert "Typed before a timeout" in body
    assert "Your session has expired, so nothing was saved yet." in body
    response = post_from(anonymous, page, **ANSWER, comment="Typed before a timeout", submit="S")
    assert response.status_code == 401
    assert our_feedback(seeded) is None

    response = anonymous.get(FORM)
    assert response.status_code == 302
    assert "/auth/login" in response.headers["Location"]


# --- 8. autosave -----------------------------------------------------------------------------


def autosave_fields(page: str, **fields) -> dict:
    return {"csrf_token": csrf_token(page), "lock_version": lock_version_of(page), **fields}


def test_autosave_stores_the_draft_and_guards_its_version(seeded, app, login):
    member = app.test_client()
    login(member, MEMBER)
    page = member.get(FORM).get_data(as_text=True)
    assert f'data-autosave-url="{DRAFT}"' in page

    response = member.post(DRAFT, data=autosave_fields(page, stance="neutral", comment="Auto 1"))
    assert response.status_code == 200
    saved = response.get_json()
    fb = our_feedback(seeded)
    assert saved["lock_version"] == fb.lock_version
    assert saved["lock_version"] != int(lock_version_of(page))
    assert "saved_at" in saved
    assert (fb.state, fb.stance, fb.comment) == (FeedbackState.DRAFT, Stance.NEUTRAL, "Auto 1")

    # The next autosave carries the new version; one with the old version is refused.
    response = member.post(
        DRAFT,
        data={
            "csrf_token": csrf_token(page),
            "lock_version": saved["lock_version"],
            "comment": "2",
        },
    )
    assert response.status_code == 200
    assert our_feedback(seeded).comment == "2"
    response = member.post(DRAFT, data=autosave_fields(page, comment="Stale autosave"))
    assert response.status_code == 409
    assert response.get_json()["error"]["field"] == "lock_version"
    assert our_feedback(seeded).comment == "2"

    # Anonymous, wrong token, too long: JSON errors, nothing stored.
    current = member.get(FORM).get_data(as_text=True)
    response = app.test_client().post(DRAFT, data=autosave_fields(current, comment="Anon"))
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "unauthenticated"
    fields = {**autosave_fields(current, comment="Bad token"), "csrf_token": "wrong"}
    response = member.post(DRAFT, data=fields)
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert (error["code"], error["field"]) == ("csrf_expired", "csrf_token")
    assert "Save draft" in error["message"]  # our words, not the library's "CSRF token"
    response = member.post(DRAFT, data=autosave_fields(current, comment="y" * 20001))
    assert response.status_code == 422
    assert response.get_json()["error"]["field"] == "comment"
    assert our_feedback(seeded).comment == "2"


def test_autosave_does_not_touch_a_submitted_position(seeded, app, login):
    lead, member = app.test_client(), app.test_client()
    login(lead, LEAD)
    login(member, MEMBER)
    submit_form(lead, FORM, **ANSWER, comment="Signed off", submit="Submit")
    before = our_feedback(seeded)
    for client in (member, lead):
        page = client.get(FORM).get_data(as_text=True)
        assert "data-autosave-url" not in page  # the script does not autosave it
        response = client.post(DRAFT, data=autosave_fields(page, comment="Autosaved over it"))
        assert response.status_code == 409
        assert response.get_json()["error"]["code"] == "invalid_state"
    after = our_feedback(seeded)
    assert (after.comment, after.state) == ("Signed off", FeedbackState.SUBMITTED)
    assert after.lock_version == before.lock_version


# --- 9. the organisation's dashboard ---------------------------------------------------------


def dashboard_rows(page: str) -> dict[str, tuple[str, str]]:
    """{item code: (state, row html)} of the dashboard's tables."""
    rows = {}
    for row in re.findall(r'<tr class="govuk-table__row">(.*?)</tr>', page, re.S):
        code = re.search(r'<th scope="row"[^>]*><a [^>]*href="[^"]*/items/([^"]+)">', row)
        if code:
            rows[code[1]] = (re.search(r'class="govuk-tag[^"]*" data-state="(\w+)"', row)[1], row)
    return rows


def test_the_dashboard_lists_every_item_with_our_state(seeded, app, login):
    lead, member = app.test_client(), app.test_client()
    login(lead, LEAD)
    login(member, MEMBER)
    submit_form(member, FORM, comment="Draft on P1", save="Save draft")
    submit_form(lead, f"/c/{SLUG}/items/P2/feedback", **ANSWER, comment="On P2", submit="S")
    submit_form(lead, f"/c/{SLUG}/items/P3/feedback", **ANSWER, comment="On P3", submit="S")
    rejected = our_feedback(seeded, "P3")
    reason = "Our own rejection: please answer the item itself."
    with seeded.app_context():
        moderator_id = db.session.scalar(
            select(User.id).where(User.email == "moderator@example.org")
        )
        moderation.reject_feedback(moderator_id, rejected.id, rejected.lock_version, reason)
        expected = dict.fromkeys(db.session.scalars(select(Item.code)), "none")
        # Other organisations' positions, but for those they invited us to co-sign (whose
        # invitation the dashboard may name).
        our_id = db.session.scalar(
            select(Organization.id).where(Organization.name == DEMO_ORGANIZATION)
        )
        invited = select(FeedbackCosigner.feedback_id).where(
            FeedbackCosigner.organization_id == our_id
        )
        theirs = db.session.execute(
            select(Feedback.reference, Feedback.comment).where(
                Feedback.organization_id != our_id, Feedback.id.not_in(invited)
            )
        ).all()
        for code, state in db.session.execute(
            select(Item.code, Feedback.state)
            .join(Feedback, Feedback.item_id == Item.id)
            .join(Organization, Organization.id == Feedback.organization_id)
            .where(Organization.name == DEMO_ORGANIZATION)
        ):
            expected[code] = state.value
    assert any(code.startswith("TF-") for code in expected)  # both consultations
    assert expected["P1"] == "draft" and expected["P2"] == "submitted"
    assert expected["P4"] == "none"  # two other organisations published on P4
    labels = {
        "none": "Not started",
        "draft": "Draft",
        "submitted": "Submitted, awaiting review",
        "published": "Published",
        "rejected": "Rejected",
        "changes_requested": "Changes requested",
        "withdrawn": "Withdrawn",
    }

    response = member.get(DASHBOARD)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    rows = dashboard_rows(page)
    assert set(rows) == set(expected)
    for code, state in expected.items():
        assert rows[code][0] == state, code
        assert f">{labels[state]}</strong>" in rows[code][1], code
    assert f"Reason: {reason}" in html.unescape(rows["P3"][1])
    assert "Reason:" not in rows["P2"][1]
    # Other organisations' positions (on P1, P2, P3, P5, P6 at least) do not show.
    assert len(theirs) >= 5
    for reference, comment in theirs:
        assert reference not in page
        assert comment not in html.unescape(page)
    assert "Off-topic: the comment points to a website" not in page  # their rejection reason


def test_only_members_of_an_organisation_have_a_dashboard(seeded, app, login):
    visitor = app.test_client()
    response = visitor.get(DASHBOARD)
    assert response.status_code == 302
    assert "/auth/login" in response.headers["Location"]

    moderator = app.test_client()
    login(moderator, "moderator@example.org")
    response = moderator.get(DASHBOARD)
    assert response.status_code in (403, 404)
    page = response.get_data(as_text=True)
    assert "app-board" not in page
    assert DEMO_ORGANIZATION not in page


# --- 10. public pagination -------------------------------------------------------------------


def entries_on(page: str) -> list[str]:
    return re.findall(r"Paged entry (\d\d)\.", page)


def link(page: str, rel: str) -> str | None:
    """The address of the page link `rel` (next, prev, first), without its fragment."""
    for tag in re.findall(r"<a [^>]*>", page):
        found = re.search(r'href="([^"#]+)#published-title"', tag)
        if found and f'rel="{rel}"' in tag:
            return html.unescape(found[1])
    return None


def test_published_feedback_is_paginated(seeded, client):
    add_published_feedback(seeded, 25)

    first = client.get(ITEM).get_data(as_text=True)
    assert first.count('<article class="app-published-entry" id="') == 20
    assert entries_on(first) == [f"{n:02d}" for n in range(20)]  # newest first
    assert "Page 1 of 2" in first
    assert "25 published positions" in first
    assert tally_of(first, "support") == 25
    assert link(first, "prev") is None
    assert link(first, "next").startswith(f"{ITEM}?after=")

    second = client.get(link(first, "next")).get_data(as_text=True)
    assert second.count('<article class="app-published-entry" id="') == 5
    assert entries_on(second) == [f"{n:02d}" for n in range(20, 25)]
    assert link(second, "next") is None
    assert link(second, "first") == ITEM
    back = client.get(link(second, "prev")).get_data(as_text=True)
    assert entries_on(back) == entries_on(first) and "Page 1 of 2" in back

    numbered = client.get(f"{ITEM}?page=2").get_data(as_text=True)  # links of earlier versions
    assert entries_on(numbered) == entries_on(second)
    assert "Page 2 of 2" in numbered

    beyond = client.get(f"{ITEM}?page=999")
    assert beyond.status_code == 200
    assert entries_on(beyond.get_data(as_text=True)) == entries_on(second)
    assert "Page 2 of 2" in beyond.get_data(as_text=True)

    for odd in ("abc", "0", "-1", "1.5", "", "%00", "99999999999999999999", "²"):
        for name in ("page", "after", "before"):
            response = client.get(ITEM, query_string={name: odd})
            assert response.status_code == 200, (name, odd)
            assert entries_on(response.get_data(as_text=True)) == entries_on(first), (name, odd)
    huge = client.get(f"{ITEM}?page=999999999999999999")
    assert huge.status_code == 200
    assert "Page 2 of 2" in huge.get_data(as_text=True)


def test_one_page_of_feedback_has_no_pagination(seeded, client):
    add_published_feedback(seeded, 20)
    page = client.get(ITEM).get_data(as_text=True)
    assert page.count('<article class="app-published-entry" id="') == 20
    assert "Page 1 of" not in page
    assert "govuk-pagination" not in page


# --- 11. redactions --------------------------------------------------------------------------


def test_a_redacted_span_is_hidden_until_the_redaction_is_reverted(seeded, app, login):
    lead, visitor = app.test_client(), app.test_client()
    login(lead, LEAD)
    comment = "Call our coordinator on +1 555 0199 for the full evidence."
    amendment = "Write to Ana at +1 555 0142 before the vote."
    submit_form(
        lead,
        FORM,
        **ANSWER,
        comment=comment,
        amendment=amendment,
        submit="Submit feedback",
    )
    fb = our_feedback(seeded)
    publish(seeded, fb.id)
    start = comment.index("+1 555 0199")
    with seeded.app_context():
        moderator_id = db.session.scalar(
            select(User.id).where(User.email == "moderator@example.org")
        )
        redaction = Redaction(
            feedback_id=fb.id,
            field="comment",
            start=start,
            end=start + len("+1 555 0199"),
            reason="A personal phone number.",
            created_by_id=moderator_id,
        )
        db.session.add(redaction)
        db.session.commit()
        redaction_id = redaction.id

    page = visitor.get(ITEM).get_data(as_text=True)
    assert "Call our coordinator on [redacted] for the full evidence." in page
    assert "555 0199" not in page
    assert amendment in page  # only the redacted field and span are hidden

    with seeded.app_context():
        db.session.get(Redaction, redaction_id).reverted_at = utcnow()
        db.session.commit()
    page = visitor.get(ITEM).get_data(as_text=True)
    assert comment in page
    assert "[redacted]" not in page


def test_an_edited_position_keeps_its_redactions_on_the_words_they_hid(seeded, app, login):
    lead, visitor = app.test_client(), app.test_client()
    login(lead, LEAD)
    comment = "Call Ana on +1 555 0142 for details."
    submit_form(lead, FORM, **ANSWER, comment=comment, submit="Submit feedback")
    fb = our_feedback(seeded)
    publish(seeded, fb.id)
    start = comment.index("+1 555")
    with seeded.app_context():
        db.session.add(
            Redaction(
                feedback_id=fb.id,
                field="comment",
                start=start,
                end=start + len("+1 555 0142"),
                reason="A personal phone number.",
            )
        )
        db.session.commit()

    # The lead puts text before the number and repeats it; the moderators publish again.
    edited = f"Update after the meeting. {comment} Or +1 555 0142 at night."
    submit_form(lead, FORM, **ANSWER, comment=edited, submit="Submit feedback")
    publish(seeded, fb.id)
    page = visitor.get(ITEM).get_data(as_text=True)
    assert "555 0142" not in page
    assert "Update after the meeting. Call Ana on [redacted] for details. Or [redacted]" in page

    # Once the number is gone from the text, its redaction is closed, not moved elsewhere.
    submit_form(lead, FORM, **ANSWER, comment="Call Ana at the office.", submit="Submit")
    with seeded.app_context():
        assert not db.session.scalars(
            select(Redaction).where(Redaction.feedback_id == fb.id, Redaction.reverted_at.is_(None))
        ).all()


def test_a_simultaneous_double_click_submits_once_without_a_conflict(
    seeded, app, login, monkeypatch
):
    """A real double click sends both requests before the first one is answered."""
    clicks = [app.test_client(), app.test_client()]  # the lead, in two tabs
    for client in clicks:
        login(client, LEAD)
    pages = [client.get(FORM).get_data(as_text=True) for client in clicks]
    both_read = Barrier(2, timeout=3)
    new_draft = feedback_service.new_draft

    def new_draft_once_both_have_read(*args, **kwargs):
        # Both requests found no feedback and start one; unless a lock held one back.
        with contextlib.suppress(BrokenBarrierError):
            both_read.wait()
        return new_draft(*args, **kwargs)

    monkeypatch.setattr(feedback_service, "new_draft", new_draft_once_both_have_read)
    fields = {**ANSWER, "comment": "Clicked twice at once", "submit": "Submit feedback"}
    with ThreadPoolExecutor(2) as pool:
        responses = list(
            pool.map(lambda pair: post_from(pair[0], pair[1], **fields), zip(clicks, pages))
        )
    fb = our_feedback(seeded)
    assert fb.state is FeedbackState.SUBMITTED
    assert len(revisions_of(seeded, fb.id)) == 1
    assert len(receipts(seeded)) == 1
    assert sorted(r.status_code for r in responses) == [302, 302]


def test_submitting_an_unchanged_position_again_changes_nothing(seeded, app, login):
    lead = app.test_client()
    login(lead, LEAD)
    submit_form(lead, FORM, **ANSWER, comment="Stand by this.", submit="Submit feedback")
    fb = our_feedback(seeded)
    publish(seeded, fb.id)
    response = submit_form(lead, FORM, **ANSWER, comment="Stand by this.", submit="Submit")
    assert response.status_code == 409
    assert "Nothing has changed" in response.get_data(as_text=True)
    after = our_feedback(seeded)
    assert after.state is FeedbackState.PUBLISHED  # still on the public page
    assert len(revisions_of(seeded, fb.id)) == 1


def test_evidence_links_are_published_as_plain_links(seeded, app, login):
    lead = app.test_client()
    login(lead, LEAD)
    links = "https://example.org/report.pdf\nhttp://example.net/study"
    submit_form(lead, FORM, **ANSWER, comment="See the study.", evidence_links=links, submit="S")
    publish(seeded, our_feedback(seeded).id)
    page = app.test_client().get(ITEM).get_data(as_text=True)
    assert 'href="https://example.org/report.pdf" rel="nofollow noopener noreferrer ugc"' in page
    assert 'href="http://example.net/study"' in page


def test_the_service_refuses_a_link_that_is_not_a_web_address(seeded):
    with seeded.test_request_context():
        lead = db.session.scalar(select(User).where(User.email == LEAD))
        item_id = db.session.scalar(select(Item.id).where(Item.code == "P1"))
        data = FeedbackInput(
            stance=None, priority=None, comment="x", evidence_links=("javascript:alert(1)",)
        )
        with pytest.raises(InvalidInput) as refused:
            feedback_service.save_feedback(lead.id, item_id, data, submit=False, lock_version=0)
        assert refused.value.field == "evidence_links"
        assert refused.value.status_code == 422


def test_the_service_refuses_a_link_longer_than_five_hundred_characters(seeded):
    with seeded.test_request_context():
        lead = db.session.scalar(select(User).where(User.email == LEAD))
        item_id = db.session.scalar(select(Item.id).where(Item.code == "P1"))
        long_link = "https://example.org/" + "a" * 481
        data = FeedbackInput(stance=None, priority=None, comment="x", evidence_links=(long_link,))
        with pytest.raises(InvalidInput) as refused:
            feedback_service.save_feedback(lead.id, item_id, data, submit=False, lock_version=0)
        assert refused.value.field == "evidence_links"
        assert "500" in refused.value.message


def test_a_batch_counts_drafts_at_fault_not_faults(seeded):
    with seeded.test_request_context():
        lead = db.session.scalar(select(User).where(User.email == LEAD))
        item_id = db.session.scalar(select(Item.id).where(Item.code == "P1"))
        two_faults = FeedbackInput(
            stance=None,
            priority=None,
            comment="x",
            countries=("ZZ",),
            evidence_links=("javascript:alert(1)",),
        )
        with pytest.raises(BatchInvalid) as refused:
            draft_batch.save_drafts(lead.id, [(item_id, two_faults)])
        rows = refused.value.rows
        assert {(row.index, row.field) for row in rows} == {
            (0, "countries"),
            (0, "evidence_links"),
        }
        assert refused.value.message.startswith("1 of the drafts")


def test_a_suspended_organisation_cannot_submit_but_keeps_its_draft(seeded, app, login):
    with seeded.app_context():
        db.session.execute(
            update(Organization)
            .where(Organization.name == DEMO_ORGANIZATION)
            .values(suspended_at=utcnow(), verification_reason="Under review.")
        )
        db.session.commit()
    lead = app.test_client()
    login(lead, LEAD)
    response = submit_form(lead, FORM, **ANSWER, comment="Still speaking.", submit="Submit")
    assert response.status_code == 403
    assert "Still speaking." in response.get_data(as_text=True)  # the text is not lost
    assert our_feedback(seeded) is None or our_feedback(seeded).state is FeedbackState.DRAFT
