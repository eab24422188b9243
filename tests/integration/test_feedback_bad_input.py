"""Bad input to the feedback form, one test each: refused with a message, the text kept, nothing
stored that should not be, and whatever is stored shown as text, never as markup."""

from __future__ import annotations

import html
import re

import pytest
from sqlalchemy import func, select

from app.accounts import sessions
from app.dev.demo import DEMO_ORGANIZATION, DEMO_PASSWORD
from app.extensions import db
from app.models import (
    Feedback,
    FeedbackRevision,
    FeedbackState,
    Item,
    Notification,
    Organization,
    User,
)
from tests.helpers.feedback import (
    FORM,
    ITEM,
    LEAD,
    MEMBER,
    SLUG,
    close_window,
    our_feedback,
    publish,
)
from tests.helpers.web import hidden_fields

pytestmark = [pytest.mark.postgres]

OTHER = "member1@demo.example.org"  # the lead of Red Fronteriza de Acogida
OTHER_ORGANIZATION = "Red Fronteriza de Acogida"
TYPED = "Words we took an afternoon to agree on."


# --- helpers ---------------------------------------------------------------------------------


def post(client, url: str = FORM, **fields):
    """GET the form and POST `fields` with its hidden inputs, as a browser would."""
    page = client.get(url).get_data(as_text=True)
    return client.post(url, data={**hidden_fields(page), **fields})


def answer(**changes) -> dict:
    fields = {"stance": "oppose", "priority": "3", "comment": TYPED, "submit": "Submit feedback"}
    fields.update(changes)
    return {name: value for name, value in fields.items() if value is not None}


def feedback_rows(app) -> list[Feedback]:
    """Every feedback row of our organisation (detached)."""
    with app.app_context():
        rows = db.session.scalars(
            select(Feedback)
            .join(Organization, Organization.id == Feedback.organization_id)
            .where(Organization.name == DEMO_ORGANIZATION)
        ).all()
        db.session.expunge_all()
        return list(rows)


def receipt_count(app) -> int:
    with app.app_context():
        return db.session.scalar(
            select(func.count())
            .select_from(Notification)
            .where(Notification.dedupe_key.like("feedback_receipt:%"))
        )


def assert_nothing_stored(app) -> None:
    """No feedback of ours on the item (the demo has some on other items), no receipt."""
    assert our_feedback(app) is None
    assert receipt_count(app) == 0


def assert_refused_and_kept(app, response, message: str | None = None) -> str:
    """Refused (422, with `message` if given), the typed comment back in the form, nothing
    stored. Returns the page."""
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    if message is not None:
        assert message in page
    assert textarea(page, "comment") == TYPED
    assert_nothing_stored(app)
    return page


def give_demo_password(app, email: str) -> None:
    """The other organisations' demo members have random passwords; give one a known one."""
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == email))
        user.password_hash = sessions.hash_password(DEMO_PASSWORD)
        db.session.commit()


def textarea(page: str, name: str) -> str:
    """The text inside the textarea `name`, as the browser would show it."""
    match = re.search(rf'<textarea[^>]*name="{name}"[^>]*>(.*?)</textarea>', page, re.S)
    assert match, f"no textarea {name}"
    return html.unescape(match[1]).lstrip("\r\n")


# --- required answers and ranges -------------------------------------------------------------


@pytest.mark.parametrize(
    ("missing", "message"),
    [("stance", "Choose a stance."), ("priority", "Give a priority from 1 to 5.")],
)
def test_submitting_without_a_required_answer(seeded, client, login, missing, message):
    login(client, LEAD)
    response = post(client, **answer(**{missing: None}))
    page = assert_refused_and_kept(seeded, response, message)
    assert 'class="govuk-error-summary"' in page


def test_every_fault_is_shown_in_one_round(seeded, client, login):
    """What the form cannot read and what the service's rules refuse come back together."""
    login(client, LEAD)
    fields = answer(
        stance="support_with_amendments",
        priority="abc",
        evidence_links="javascript:alert(1)",
        countries=["GT", "ZZ"],
    )
    page = assert_refused_and_kept(seeded, client and post(client, **fields))
    for message in (
        "Give a priority from 1 to 5.",  # the form could not read the priority
        "Give the wording you propose when you support with amendments.",
        "This is not a web address: javascript:alert(1)",
        "is not a valid choice for this field",  # the country
    ):
        assert message in page, message


@pytest.mark.parametrize("priority", ["0", "6", "abc", "-1", "3.5", "99999999999999999999"])
@pytest.mark.parametrize("action", ["save", "submit"])
def test_a_priority_outside_one_to_five_is_refused(seeded, client, login, priority, action):
    login(client, LEAD)
    fields = answer(priority=priority, submit=None)
    response = post(client, **fields, **{action: "go"})
    page = assert_refused_and_kept(seeded, response)
    assert 'class="govuk-error-summary"' in page


@pytest.mark.parametrize("stance", ["maybe", "SUPPORT", "support ", "<script>"])
def test_a_stance_not_in_the_list_is_refused(seeded, client, login, stance):
    login(client, LEAD)
    response = post(client, **answer(stance=stance))
    assert response.status_code == 422
    assert "Not a valid choice" in response.get_data(as_text=True)
    assert_nothing_stored(seeded)


@pytest.mark.parametrize("country", ["ZZ", "DE", "us", ""])
def test_a_country_not_in_the_list_is_refused(seeded, client, login, country):
    login(client, LEAD)
    response = post(client, **answer(countries=["GT", country]))
    assert_refused_and_kept(seeded, response)


# --- length ----------------------------------------------------------------------------------


@pytest.mark.parametrize("field", ["comment", "amendment"])
def test_twenty_thousand_characters_and_one_is_refused_and_kept(seeded, client, login, field):
    login(client, LEAD)
    too_long = "ab" * 10000 + "c"
    response = post(client, **answer(**{field: too_long}))
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Keep this to 20,000 characters or fewer: it has 20,001." in page
    assert textarea(page, field) == too_long  # nothing typed is lost
    assert_nothing_stored(seeded)


def test_the_browser_never_cuts_a_long_text_it_counts_it(seeded, client, login):
    """A textarea with maxlength drops what is pasted past it without a word: the form has a
    character count instead (GOV.UK Frontend's), in the page's language."""
    login(client, LEAD)
    page = client.get(FORM).get_data(as_text=True)
    for field in ("comment", "amendment"):
        tag = re.search(rf'<textarea[^>]*name="{field}"[^>]*>', page)[0]
        assert "maxlength" not in tag and "govuk-js-character-count" in tag
        assert f'aria-describedby="{field}-info {field}-hint"' in tag
    assert page.count('data-module="govuk-character-count" data-maxlength="20000"') == 2
    assert 'data-i18n.characters-over-limit.other="You have %{count} characters too many"' in page
    client.post("/auth/locale", data={**hidden_fields(page), "locale": "es", "next": FORM})
    spanish = client.get(FORM).get_data(as_text=True)
    assert 'characters-over-limit.other="Tiene %{count} caracteres de más"' in spanish


def test_priority_is_five_labelled_choices_and_a_choice_is_kept(seeded, client, login):
    login(client, LEAD)
    page = client.get(FORM).get_data(as_text=True)
    radios = re.findall(r'<input[^>]*name="priority"[^>]*>', page)
    assert len(radios) == 5 and all('type="radio"' in radio for radio in radios)
    assert "1 – low" in page and "5 – highest" in page
    response = post(client, **answer(priority="4", stance=None))  # refused: no stance
    kept = re.search(r'<input[^>]*name="priority"[^>]*value="4"[^>]*>', response.get_data(True))
    assert response.status_code == 422 and "checked" in kept[0]


def test_countries_are_boxes_named_by_country_and_ticked_ones_are_kept(seeded, client, login):
    login(client, LEAD)
    page = client.get(FORM).get_data(as_text=True)
    boxes = re.findall(r'<input[^>]*name="countries"[^>]*>', page)
    assert len(boxes) == 20 and all('type="checkbox"' in box for box in boxes)
    assert "Ctrl" not in page and "<select" not in page.split('name="countries"')[0][-200:]
    assert "Honduras" in page and "Guatemala" in page
    response = post(client, **answer(countries=["HN", "GT"], stance=None))
    kept = response.get_data(as_text=True)
    for code in ("HN", "GT"):
        assert re.search(
            rf'<input[^>]*checked[^>]*value="{code}"|<input[^>]*value="{code}"[^>]*checked', kept
        )


def test_twenty_thousand_characters_are_accepted(seeded, client, login):
    login(client, LEAD)
    longest = ("Shelters need funding. " * 1000)[:19999] + "!"
    assert len(longest) == 20000
    response = post(client, **answer(comment=longest))
    assert response.status_code == 302
    stored = our_feedback(seeded)
    assert stored.state is FeedbackState.SUBMITTED
    assert stored.comment == longest


# --- markup is text --------------------------------------------------------------------------

SCRIPT = "<script>alert(1)</script>"
MARKDOWN_LINK = "[x](javascript:alert(1))"
IMAGE = "<img src=x onerror=alert(1)>"
HOSTILE_COMMENT = f"{SCRIPT} then {MARKDOWN_LINK} and {IMAGE} **bold**"
HOSTILE_AMENDMENT = '<script>alert(2)</script> <a href="javascript:alert(3)">click</a>'
HOSTILE_LINK = "https://example.org/search?q=<script>alert(4)</script>"


def assert_shown_as_text(page: str) -> None:
    for raw in ("<script>alert(", "<img src=x", 'href="javascript:', "<strong>bold</strong>"):
        assert raw not in page, raw


def test_markup_is_stored_verbatim_and_shown_escaped(seeded, app, login):
    lead, visitor = app.test_client(), app.test_client()
    login(lead, LEAD)
    response = post(
        lead,
        **answer(
            comment=HOSTILE_COMMENT,
            amendment=HOSTILE_AMENDMENT,
            evidence_links=f"{HOSTILE_LINK}\nhttps://example.org/report",
        ),
    )
    assert response.status_code == 302
    stored = our_feedback(seeded)
    assert stored.comment == HOSTILE_COMMENT
    assert stored.amendment == HOSTILE_AMENDMENT
    assert stored.evidence_links == [HOSTILE_LINK, "https://example.org/report"]

    form = lead.get(FORM).get_data(as_text=True)
    assert_shown_as_text(form)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in form
    assert "&lt;script&gt;alert(4)&lt;/script&gt;" in form
    assert textarea(form, "comment") == HOSTILE_COMMENT
    assert textarea(form, "evidence_links").startswith(HOSTILE_LINK)

    # A change makes a revision with a diff of the hostile text: escaped there too.
    page = lead.get(FORM).get_data(as_text=True)
    changed = answer(comment=f"{HOSTILE_COMMENT} again", amendment=HOSTILE_AMENDMENT)
    response = lead.post(
        FORM, data={**hidden_fields(page), **changed, "evidence_links": HOSTILE_LINK}
    )
    assert response.status_code == 302
    history = lead.get(f"{FORM}/revisions").get_data(as_text=True)
    assert_shown_as_text(history)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in history

    publish(seeded, stored.id)
    public = visitor.get(ITEM).get_data(as_text=True)
    assert_shown_as_text(public)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in public
    assert "&lt;img src=x onerror=alert(1)&gt;" in public
    assert MARKDOWN_LINK in public  # shown as typed, not made a link
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in public
    assert "&lt;a href=&#34;javascript:alert(3)&#34;&gt;" in public


@pytest.mark.parametrize(
    "link",
    [
        "javascript:alert(1)",
        "JaVaScRiPt:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "https:alert(1)",
        "//example.org/report",
        "https://exa mple.org/report",
        "ftp://example.org/report",
    ],
)
@pytest.mark.parametrize("action", ["save", "submit"])
def test_an_evidence_link_that_is_not_a_web_address_is_refused(seeded, client, login, link, action):
    login(client, LEAD)
    fields = answer(evidence_links=f"https://example.org/ok\n{link}", submit=None)
    response = post(client, **fields, **{action: "go"})
    assert_refused_and_kept(seeded, response, "This is not a web address")


# --- what the request cannot choose ----------------------------------------------------------


def test_forged_ownership_fields_are_ignored(seeded, client, login):
    with seeded.app_context():
        other_org = db.session.scalar(
            select(Organization.id).where(Organization.name == OTHER_ORGANIZATION)
        )
        other_user = db.session.scalar(select(User.id).where(User.email == OTHER))
        p2 = db.session.scalar(select(Item.id).where(Item.code == "P2"))
        member_id = db.session.scalar(select(User.id).where(User.email == MEMBER))
        our_org = db.session.scalar(
            select(Organization.id).where(Organization.name == DEMO_ORGANIZATION)
        )
        p1 = db.session.scalar(select(Item.id).where(Item.code == "P1"))
    login(client, MEMBER)
    forged = {
        "organization_id": str(other_org),
        "item_id": str(p2),
        "author_id": str(other_user),
        "submitted_by_id": str(other_user),
        "state": "published",
        "reference": "FB-FORGED",
        "language": "xx",
    }
    response = post(client, **answer(submit=None), save="Save draft", **forged)
    assert response.status_code == 302

    stored = our_feedback(seeded)
    assert (stored.organization_id, stored.item_id) == (our_org, p1)
    assert stored.author_id == member_id
    assert stored.submitted_by_id is None
    assert stored.state is FeedbackState.DRAFT
    assert stored.reference != "FB-FORGED" and stored.language is None
    assert our_feedback(seeded, "P2") is None
    with seeded.app_context():
        theirs = db.session.scalar(
            select(func.count())
            .select_from(Feedback)
            .where(Feedback.organization_id == other_org, Feedback.item_id.in_([p1, p2]))
        )
        assert theirs == 0


@pytest.mark.parametrize(
    ("method", "suffix"),
    [
        ("get", "/feedback"),
        ("post", "/feedback"),
        ("post", "/feedback/draft"),
        ("post", "/feedback/withdraw"),
        ("get", "/feedback/revisions"),
        ("get", ""),
    ],
)
def test_an_unknown_item_is_a_404(seeded, client, login, method, suffix):
    login(client, LEAD)
    page = client.get(FORM).get_data(as_text=True)
    before = len(feedback_rows(seeded))
    for url in (f"/c/{SLUG}/items/P99{suffix}", f"/c/no-such-consultation/items/P1{suffix}"):
        if method == "get":
            response = client.get(url)
        else:
            response = client.post(url, data={**hidden_fields(page), **answer()})
        assert response.status_code == 404, url
    assert len(feedback_rows(seeded)) == before


def test_another_organisation_never_sees_our_draft(seeded, app, login):
    ours, theirs = app.test_client(), app.test_client()
    login(ours, LEAD)
    secret = "Our internal draft: ZEBRA-5512 not for other organisations."
    assert post(ours, **answer(comment=secret)).status_code == 302  # submitted, with a revision
    reference = our_feedback(seeded).reference
    give_demo_password(seeded, OTHER)
    login(theirs, OTHER)

    form = theirs.get(FORM)
    page = html.unescape(form.get_data(as_text=True))
    assert form.status_code == 200
    assert OTHER_ORGANIZATION in page  # they answer for their own organisation (in Spanish)
    assert "ZEBRA-5512" not in page and reference not in page
    assert textarea(form.get_data(as_text=True), "comment") == ""
    assert "/feedback/revisions" not in page  # no position of theirs on P1 yet
    assert 'name="submit"' in page  # they are their organisation's lead

    assert theirs.get(f"{FORM}/revisions").status_code == 404
    item_page = theirs.get(ITEM).get_data(as_text=True)
    assert "ZEBRA-5512" not in item_page and reference not in item_page

    # Their own draft goes to their organisation, and ours is untouched.
    assert post(theirs, **answer(comment="Their words", submit=None), save="S").status_code == 302
    assert our_feedback(seeded).comment == secret
    with seeded.app_context():
        their_comment = db.session.scalar(
            select(Feedback.comment)
            .join(Organization, Organization.id == Feedback.organization_id)
            .join(Item, Item.id == Feedback.item_id)
            .where(Organization.name == OTHER_ORGANIZATION, Item.code == "P1")
        )
        assert their_comment == "Their words"


# --- the window, and what the public may read ------------------------------------------------


def test_a_submission_after_the_close_is_kept_as_a_draft(seeded, client, login):
    login(client, LEAD)
    page = client.get(FORM).get_data(as_text=True)
    close_window(seeded)
    response = client.post(FORM, data={**hidden_fields(page), **answer()})
    assert response.status_code == 409
    assert "The comment window has closed, so this was not submitted." in response.get_data(
        as_text=True
    )
    assert "Your text is kept as a draft." in response.get_data(as_text=True)
    kept = our_feedback(seeded)
    assert kept.state is FeedbackState.DRAFT
    assert kept.comment == TYPED
    assert kept.submitted_at is None
    with seeded.app_context():
        assert (
            db.session.scalar(
                select(func.count())
                .select_from(FeedbackRevision)
                .where(FeedbackRevision.feedback_id == kept.id)
            )
            == 0
        )
    assert receipt_count(seeded) == 0


def test_council_only_text_never_reaches_the_public_page(seeded, app, login):
    lead = app.test_client()
    login(lead, LEAD)
    comment = "Council eyes only: OKAPI-7731 names the shelter we run."
    amendment = "Council-only amendment: NARWHAL-4412 wording."
    response = post(
        lead,
        **answer(
            comment=comment,
            comment_disclosure="council_only",
            amendment=amendment,
            amendment_disclosure="council_only",
        ),
    )
    assert response.status_code == 302
    fb = our_feedback(seeded)
    publish(seeded, fb.id)

    other = app.test_client()
    give_demo_password(seeded, OTHER)
    login(other, OTHER)
    readers = {"visitor": app.test_client(), "other organisation": other, "our lead": lead}
    for who, client in readers.items():
        for url in (ITEM, f"{ITEM}?page=1", f"/c/{SLUG}"):
            page = client.get(url).get_data(as_text=True)
            for secret in ("OKAPI-7731", "NARWHAL-4412", "Council eyes only"):
                assert secret not in page, (who, url, secret)  # nor in an HTML comment
    for client in (readers["visitor"], lead):
        page = client.get(ITEM).get_data(as_text=True)
        assert "The comment was shared with the council only." in page
    public = readers["visitor"].get(ITEM).get_data(as_text=True)
    assert fb.reference in public  # the position itself is published
    assert DEMO_ORGANIZATION in public
