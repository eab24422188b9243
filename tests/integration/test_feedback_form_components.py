"""The stakeholder's feedback form through GOV.UK's components: what each field is drawn as,
every error in one round, the warning before a published position is changed, and file buttons
that keep the answers typed but not yet saved."""

from __future__ import annotations

import html
import io
import re

import pytest
from sqlalchemy import select

from app.extensions import db
from app.feedback import attachments
from app.models import Attachment, FeedbackState
from app.models.feedback import REGION_COUNTRIES
from tests.helpers.feedback import FORM, LEAD, MEMBER, our_feedback, publish
from tests.helpers.files import pdf_bytes
from tests.helpers.web import hidden_fields

pytestmark = [pytest.mark.postgres]

UPLOAD = f"{FORM}/attachments"
ANSWER = {"stance": "support", "priority": "4"}


def page_of(client) -> str:
    return client.get(FORM).get_data(as_text=True)


def files_of(app) -> list[Attachment]:
    with app.app_context():
        rows = list(db.session.scalars(select(Attachment).order_by(Attachment.id)))
        db.session.expunge_all()
        return rows


def textarea(page: str, name: str) -> str:
    match = re.search(rf'<textarea[^>]*name="{name}"[^>]*>(.*?)</textarea>', page, re.S)
    assert match, name
    return html.unescape(match[1])


def with_file(fields: dict, name: str = "brief.pdf") -> dict:
    return {**fields, "disclosure": "public", "attachment": (io.BytesIO(pdf_bytes()), name)}


# --- the components -------------------------------------------------------------------------


def test_every_field_is_a_design_system_component(seeded, client, login):
    login(client, LEAD)
    page = page_of(client)
    radios = re.findall(r'<input class="govuk-radios__input"[^>]*name="priority"[^>]*>', page)
    assert len(radios) == 5  # five labelled radios, large (no --small modifier)
    assert "govuk-radios--small" not in page and "govuk-checkboxes--small" not in page
    countries = re.findall(r'class="govuk-checkboxes__input"[^>]*name="countries"', page)
    assert len(countries) == len(REGION_COUNTRIES)
    assert '<label class="govuk-label govuk-checkboxes__label" for="countries">' in page
    # Each group is a fieldset with its legend.
    for legend in ("Your organisation.s stance", "Priority", "Countries concerned"):
        assert re.search(rf'<legend class="govuk-fieldset__legend[^"]*">\s*{legend}', page)
    # The amendment is revealed under "support with amendments" (GOV.UK's conditional reveal).
    choice = re.search(r'<input[^>]*value="support_with_amendments"[^>]*>', page)[0]
    assert 'data-aria-controls="conditional-stance-2"' in choice
    reveal = page[page.index('id="conditional-stance-2"') :]
    reveal = reveal[: reveal.index('value="neutral"')]
    assert 'name="amendment"' in reveal and 'name="amendment_disclosure"' in reveal
    # A character count on every limited text box, none cut by maxlength.
    for name, limit in (("comment", 20000), ("amendment", 20000), ("evidence_links", 50000)):
        tag = re.search(rf'<textarea[^>]*name="{name}"[^>]*>', page)[0]
        assert "govuk-js-character-count" in tag and "maxlength" not in tag
        assert f'id="{name}-info"' in page
        assert f'data-maxlength="{limit}"' in page
    assert page.count('data-module="govuk-character-count"') == 3
    # Buttons, breadcrumbs and the state of nothing saved yet.
    assert re.search(r'<button[^>]*class="govuk-button"[^>]*name="submit"', page) or re.search(
        r'<button[^>]*name="submit"[^>]*class="govuk-button"', page
    )
    assert 'class="govuk-breadcrumbs' in page
    assert 'class="legacy' not in page and 'class="stacked' not in page


def test_a_saved_position_shows_its_state_as_a_tag_in_a_summary_list(seeded, client, login):
    login(client, MEMBER)
    client.post(FORM, data={**hidden_fields(page_of(client)), "comment": "Ours", "save": "y"})
    page = page_of(client)
    summary = page[page.index('class="govuk-summary-list') :]
    summary = summary[: summary.index("</dl>")]
    assert 'data-state="draft"' in summary and "govuk-tag--grey" in summary
    assert our_feedback(seeded).reference in summary


def test_support_with_amendments_without_wording_is_reported_with_the_other_errors(
    seeded, client, login
):
    login(client, LEAD)
    response = client.post(
        FORM,
        data={
            **hidden_fields(page_of(client)),
            "stance": "support_with_amendments",
            "comment": "Kept as typed",
            "submit": "y",
        },
    )
    assert response.status_code == 422
    page = html.unescape(response.get_data(as_text=True))
    summary = page[
        page.index("govuk-error-summary") : page.index("</ul>", page.index("govuk-error-summary"))
    ]
    assert 'href="#priority"' in summary and "Give a priority from 1 to 5." in summary
    assert 'href="#amendment"' in summary
    assert "Give the wording you propose when you support with amendments." in summary
    assert textarea(page, "comment") == "Kept as typed"
    assert our_feedback(seeded) is None

    # Also when the form itself cannot read a field (a priority that is not a number).
    response = client.post(
        FORM,
        data={
            **hidden_fields(page_of(client)),
            "stance": "support_with_amendments",
            "priority": "high",
            "submit": "y",
        },
    )
    page = html.unescape(response.get_data(as_text=True))
    assert response.status_code == 422
    assert 'href="#priority"' in page and 'href="#amendment"' in page


def test_the_lead_is_warned_before_changing_a_published_position(seeded, client, login):
    login(client, LEAD)
    client.post(FORM, data={**hidden_fields(page_of(client)), **ANSWER, "comment": "First"})
    client.post(
        FORM, data={**hidden_fields(page_of(client)), **ANSWER, "comment": "First", "submit": "y"}
    )
    page = page_of(client)
    assert 'class="govuk-warning-text"' not in page  # submitted, not yet published
    publish(seeded, our_feedback(seeded).id)

    page = html.unescape(page_of(client))
    warning = page[page.index('class="govuk-warning-text"') :]
    warning = warning[: warning.index("</div>")]
    assert 'id="resubmit-notice"' in warning
    assert "Your changes go back to the moderators; the published version is hidden" in warning
    assert warning.index("resubmit-notice") < page.index('name="submit"')  # before the button
    assert 'aria-describedby="resubmit-notice"' in page
    assert 'class="govuk-notification-banner"' in page and "Your position is published" in page

    response = client.post(
        FORM, data={**hidden_fields(page), **ANSWER, "comment": "Second", "submit": "y"}
    )
    after = html.unescape(client.get(response.headers["Location"]).get_data(as_text=True))
    assert "your published position is hidden from the public page until" in after
    assert "govuk-notification-banner" in after


# --- file buttons keep what was typed --------------------------------------------------------


def test_attaching_a_file_saves_the_answers_typed_as_the_draft_first(seeded, client, login):
    login(client, MEMBER)
    page = page_of(client)
    assert 'name="with_answers"' in page
    typed = {"stance": "oppose", "priority": "2", "comment": "Typed, never saved"}
    response = client.post(
        UPLOAD,
        data=with_file({**hidden_fields(page), **typed}),
        content_type="multipart/form-data",
    )
    assert response.status_code == 303
    stored = our_feedback(seeded)
    assert stored.state is FeedbackState.DRAFT
    assert stored.comment == "Typed, never saved" and stored.priority == 2
    assert [f.filename for f in files_of(seeded)] == ["brief.pdf"]
    page = html.unescape(page_of(client))
    assert textarea(page, "comment") == "Typed, never saved"
    assert "“brief.pdf” is attached." in page

    # Removing a file keeps the answers typed since too.
    [attachment] = files_of(seeded)
    response = client.post(
        f"/attachments/{attachment.id}/delete",
        data={**hidden_fields(page), **typed, "comment": "Changed, then a file removed"},
    )
    assert response.status_code == 303
    assert our_feedback(seeded).comment == "Changed, then a file removed"
    assert files_of(seeded) == []


def test_without_a_file_the_answers_are_still_saved(seeded, client, login):
    login(client, MEMBER)
    response = client.post(
        UPLOAD,
        data={**hidden_fields(page_of(client)), "comment": "Pressed attach with no file"},
        content_type="multipart/form-data",
    )
    assert response.status_code == 303
    assert our_feedback(seeded).comment == "Pressed attach with no file"
    assert "Choose a file to attach." in html.unescape(page_of(client))


def test_answers_that_cannot_be_saved_come_back_with_their_errors_and_no_file(
    seeded, client, login
):
    login(client, MEMBER)
    too_long = "x" * 20_001
    response = client.post(
        UPLOAD,
        data=with_file({**hidden_fields(page_of(client)), "comment": too_long}),
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert textarea(page, "comment") == too_long  # nothing typed is lost
    assert "Keep this to 20,000 characters or fewer" in page
    assert our_feedback(seeded) is None and files_of(seeded) == []


def test_on_a_submitted_position_the_file_is_attached_and_the_changes_stay_unsubmitted(
    seeded, client, login
):
    login(client, LEAD)
    client.post(
        FORM, data={**hidden_fields(page_of(client)), **ANSWER, "comment": "Sent", "submit": "y"}
    )
    assert our_feedback(seeded).state is FeedbackState.SUBMITTED
    page = page_of(client)
    response = client.post(
        UPLOAD,
        data=with_file({**hidden_fields(page), **ANSWER, "comment": "Changed, not yet sent"}),
        content_type="multipart/form-data",
    )
    assert response.status_code == 200
    shown = html.unescape(response.get_data(as_text=True))
    assert textarea(shown, "comment") == "Changed, not yet sent"  # kept on the page
    assert "“brief.pdf” is attached." in shown
    assert our_feedback(seeded).comment == "Sent"  # a submitted position changes by submit only
    assert [f.filename for f in files_of(seeded)] == ["brief.pdf"]

    # The page's lock follows the file's own change, so submitting the changes goes through.
    response = client.post(
        FORM,
        data={**hidden_fields(shown), **ANSWER, "comment": "Changed, not yet sent", "submit": "y"},
    )
    assert response.status_code == 302
    assert our_feedback(seeded).comment == "Changed, not yet sent"


def test_a_colleagues_change_while_the_file_is_read_still_meets_the_conflict_check(
    seeded, client, login, monkeypatch
):
    login(client, LEAD)
    client.post(
        FORM, data={**hidden_fields(page_of(client)), **ANSWER, "comment": "Sent", "submit": "y"}
    )
    page = page_of(client)  # this lead's page holds the position's lock as it is now
    real_add = attachments.add_attachment

    def colleague_changes_it_meanwhile(*args, **kwargs):
        # Another lead submits a change while this upload is being inspected.
        with seeded.app_context():
            feedback = db.session.merge(our_feedback(seeded))
            feedback.comment = "A colleague's wording"
            db.session.commit()
        return real_add(*args, **kwargs)

    monkeypatch.setattr(attachments, "add_attachment", colleague_changes_it_meanwhile)
    shown = client.post(
        UPLOAD,
        data=with_file({**hidden_fields(page), **ANSWER, "comment": "Mine"}),
        content_type="multipart/form-data",
    ).get_data(as_text=True)
    # The page's lock moved past the file's change only, not the colleague's: a conflict.
    response = client.post(
        FORM, data={**hidden_fields(shown), **ANSWER, "comment": "Mine", "submit": "y"}
    )
    assert response.status_code == 409
    assert our_feedback(seeded).comment == "A colleague's wording"
