"""Item version history with a readable diff, and an organisation's progress per consultation."""

from __future__ import annotations

import re

import pytest
import yaml
from sqlalchemy import select, update

from app.consultations.seeding import CONTENT_DIR, seed_content
from app.extensions import db
from app.models import CouncilResponse, Feedback, FeedbackState, Item

pytestmark = [pytest.mark.postgres]

ITEM = "/c/leaders-summit-2021-migration/items/P4"


@pytest.fixture
def edited_p4(seeded, tmp_path):
    """P4 published a second time with one word changed in its English text."""
    for path in CONTENT_DIR.glob("*.yaml"):
        document = yaml.safe_load(path.read_text("utf-8"))
        for entry in document["items"]:
            if entry["code"] == "P4":
                entry["body"]["en"] = entry["body"]["en"].replace(
                    "receive more refugees", "receive many more refugees", 1
                )
                assert "many more refugees" in entry["body"]["en"]
        (tmp_path / path.name).write_text(yaml.safe_dump(document, allow_unicode=True), "utf-8")
    with seeded.app_context():
        assert seed_content(tmp_path).versions_added == ["leaders-summit-2021-migration/P4"]
    return seeded


def test_an_item_with_one_version_shows_no_history(seeded, client):
    assert "Text versions" not in client.get(ITEM).get_data(as_text=True)


def test_the_item_page_lists_its_versions_and_links_the_changes(edited_p4, client):
    page = client.get(ITEM).get_data(as_text=True)
    assert "Text versions" in page
    assert f'href="{ITEM}/versions/2"' in page
    assert "Text version 2" in page


def test_the_version_page_shows_what_changed_word_by_word(edited_p4, client):
    page = client.get(f"{ITEM}/versions/2").get_data(as_text=True)
    body = page.split(">Text</h2>")[1]
    added = re.findall(r"<ins>(.*?)</ins>", body, re.S)
    assert len(added) == 1 and "many" in added[0]
    assert "[added:" in added[0]  # said to screen readers, not only shown by colour
    assert "<del>" not in body  # nothing was removed


def test_the_first_version_page_has_nothing_to_compare(seeded, client):
    page = client.get(f"{ITEM}/versions/1").get_data(as_text=True)
    assert "first version of the text" in page


@pytest.mark.parametrize("number", ["3", "0"])
def test_a_missing_version_is_a_404(edited_p4, client, number):
    assert client.get(f"{ITEM}/versions/{number}").status_code == 404


def test_a_member_sees_the_organisations_progress_on_the_consultation(seeded, client, login):
    login(client, "lead@example.org")
    from tests.helpers.web import submit_form

    submit_form(
        client, f"{ITEM}/feedback", stance="support", priority="4", comment="Yes", submit="S"
    )
    page = client.get("/c/leaders-summit-2021-migration").get_data(as_text=True)
    assert "Submitted feedback on 1 of 6 items." in page
    own_state = r'data-item="{}">Your organisation: <strong class="govuk-tag[^"]*"[^>]*>{}</strong>'
    assert re.search(own_state.format("P4", "Submitted, awaiting review"), page)
    assert re.search(own_state.format("P1", "No feedback yet"), page)


def test_a_visitor_sees_no_progress_column(seeded, client):
    page = client.get("/c/leaders-summit-2021-migration").get_data(as_text=True)
    assert "Your organisation:" not in page


def test_the_councils_published_response_is_on_the_item_page(seeded, client):
    page = client.get("/c/leaders-summit-2021-migration/items/P4").get_data(as_text=True)
    assert "The council&#39;s response" in page or "The council's response" in page
    assert "Partly accepted" in page
    assert "<strong>under study</strong>" in page  # the rationale's Markdown, sanitised
    with seeded.app_context():
        answered = db.session.scalars(
            select(Feedback.reference)
            .join(Item, Item.id == Feedback.item_id)
            .where(Item.code == "P4", Feedback.state == FeedbackState.PUBLISHED)
        ).all()
    assert answered and all(reference in page for reference in answered)


def test_an_unpublished_response_stays_with_the_council(seeded, client):
    with seeded.app_context():
        db.session.execute(update(CouncilResponse).values(published_at=None))
        db.session.commit()
    page = client.get("/c/leaders-summit-2021-migration/items/P4").get_data(as_text=True)
    assert "Partly accepted" not in page
    assert "under study" not in page
