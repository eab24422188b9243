"""The structured fields of the feedback form: what is stored, what the public sees."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Feedback, FeedbackRevision, Stance
from app.models.feedback import AFFECTED_POPULATIONS
from app.vocabulary import population_labels
from tests.helpers.feedback import publish
from tests.helpers.web import csrf_token, hidden_fields, submit_form

pytestmark = [pytest.mark.postgres]

ITEM = "/c/leaders-summit-2021-migration/items/P2"
FORM = f"{ITEM}/feedback"


def full_answer(**changes) -> dict:
    answer = {
        "stance": "support_with_amendments",
        "priority": "5",
        "affected_populations": ["labour_migrants", "women_and_girls"],
        "countries": ["GT", "HN"],
        "comment": "Visas must be portable between employers.",
        "comment_disclosure": "public",
        "amendment": "Seasonal visas shall allow a change of employer.",
        "amendment_disclosure": "public",
        "evidence_links": "https://example.org/report\nhttp://example.net/study.pdf",
        "attribution": "named",
        "submit": "Submit feedback",
    }
    answer.update(changes)
    return answer


def post(client, **fields):
    page = client.get(FORM).get_data(as_text=True)
    return client.post(FORM, data={**hidden_fields(page), **fields})


def test_every_population_has_a_label():
    assert set(population_labels()) == set(AFFECTED_POPULATIONS)


def test_a_complete_answer_is_stored_with_its_revision(seeded, client, login):
    login(client, "lead@example.org")
    assert post(client, **full_answer()).status_code == 302
    with seeded.app_context():
        fb = db.session.scalar(select(Feedback).where(Feedback.comment.like("Visas must%")))
        assert fb.affected_populations == ["labour_migrants", "women_and_girls"]
        assert fb.countries == ["GT", "HN"]
        assert fb.evidence_links == ["https://example.org/report", "http://example.net/study.pdf"]
        assert fb.amendment.startswith("Seasonal visas shall")
        revision = db.session.scalar(
            select(FeedbackRevision).where(FeedbackRevision.feedback_id == fb.id)
        )
        assert revision.snapshot["countries"] == ["GT", "HN"]
        assert revision.snapshot["amendment_disclosure"] == "public"


def test_support_with_amendments_needs_the_amendment(seeded, client, login):
    login(client, "lead@example.org")
    response = post(client, **full_answer(amendment=""))
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Give the wording you propose" in page
    assert "Visas must be portable between employers." in page  # nothing typed is lost


def test_a_bad_evidence_link_is_named_and_the_text_kept(seeded, client, login):
    login(client, "lead@example.org")
    response = post(client, **full_answer(evidence_links="javascript:alert(1)"))
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "This is not a web address: javascript:alert(1)" in page
    assert "Seasonal visas shall allow a change of employer." in page


def test_an_unknown_population_is_refused(seeded, client, login):
    login(client, "lead@example.org")
    response = post(client, **full_answer(affected_populations=["martians"]))
    assert response.status_code == 422


def test_the_public_sees_only_what_was_disclosed(seeded, app, login):
    author, moderator, visitor = app.test_client(), app.test_client(), app.test_client()
    login(author, "lead@example.org")
    post(
        author,
        **full_answer(
            comment_disclosure="council_only",
            amendment="Public amendment text.",
            attribution="anonymous",
        ),
    )
    login(moderator, "moderator@example.org")
    queue = moderator.get("/moderation/").get_data(as_text=True)
    with seeded.app_context():
        fb = db.session.scalar(select(Feedback).where(Feedback.comment.like("Visas must%")))
    moderator.post(
        f"/moderation/{fb.id}/publish",
        data={"csrf_token": csrf_token(queue), "lock_version": str(fb.lock_version)},
    )
    page = visitor.get(ITEM).get_data(as_text=True)
    assert "Public amendment text." in page
    assert "Visas must be portable" not in page  # council only
    assert "shared with the council only" in page
    assert "Northern Corridor Migrant Support Network" not in page  # anonymous
    assert "Anonymous organisation" in page
    assert "Guatemala" in page and "Labour migrants" in page


def test_countries_are_named_in_the_readers_language(seeded, client, login):
    login(client, "lead@example.org")
    submit_form(client, FORM, "/auth/locale", locale="es", next=FORM)
    page = client.get(FORM).get_data(as_text=True)
    assert "México" in page and "Estados Unidos" in page


def test_no_overall_position_needs_no_amendment_and_is_shown_and_counted_as_such(
    seeded, app, login
):
    author, visitor = app.test_client(), app.test_client()
    login(author, "lead@example.org")
    form = author.get(FORM).get_data(as_text=True)
    assert 'value="no_position"' in form and "No overall position" in form
    response = post(author, **full_answer(stance="no_position", amendment=""))
    assert response.status_code == 302
    with seeded.app_context():
        fb = db.session.scalar(select(Feedback).where(Feedback.comment.like("Visas must%")))
        assert fb.stance is Stance.NO_POSITION
    publish(app, fb.id)
    page = visitor.get(ITEM).get_data(as_text=True)
    assert re.search(r'govuk-summary-list__value">\s*No overall position\s*<', page)
    assert 'data-stance="no_position">1<' in page  # the public tally
    assert 'data-stance="neutral">0<' in page  # not folded into neutral
