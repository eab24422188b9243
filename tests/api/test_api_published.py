"""Published feedback and the council's responses through the API: what the public pages show,
page by page, never what only the council may read."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, update

from app.extensions import db
from app.feedback import published
from app.models import Attribution, Disclosure, Feedback, FeedbackState, Item

pytestmark = [pytest.mark.postgres]
SUMMIT = "leaders-summit-2021-migration"


def _busiest_item(app) -> tuple[int, str]:
    """The Summit item with the most published feedback: (id, code)."""
    with app.app_context():
        row = db.session.execute(
            select(Item.id, Item.code)
            .join(Feedback, Feedback.item_id == Item.id)
            .where(Feedback.state == FeedbackState.PUBLISHED)
            .group_by(Item.id, Item.code)
            .order_by(func.count().desc(), Item.id)
            .limit(1)
        ).one()
    return row.id, row.code


def test_pages_of_one_hold_every_published_position_once_in_the_pages_order(seeded, client):
    item_id, code = _busiest_item(seeded)
    with seeded.app_context():
        expected = [e.id for e in published.published_feedback(item_id, 1, 500).entries]
    assert len(expected) >= 2
    seen, url = [], f"/api/v1/consultations/{SUMMIT}/items/{code}/feedback?limit=1"
    while url:
        body = client.get(url).get_json()
        seen += [entry["id"] for entry in body["data"]]
        url = body["next"]
    assert seen == expected


def test_council_only_text_and_anonymous_names_stay_out(seeded, client):
    item_id, code = _busiest_item(seeded)
    with seeded.app_context():
        target = db.session.scalar(
            select(Feedback.id).where(
                Feedback.item_id == item_id, Feedback.state == FeedbackState.PUBLISHED
            )
        )
        secret = db.session.scalar(select(Feedback.comment).where(Feedback.id == target))
        db.session.execute(
            update(Feedback)
            .where(Feedback.id == target)
            .values(comment_disclosure=Disclosure.COUNCIL_ONLY, attribution=Attribution.ANONYMOUS)
        )
        db.session.commit()
    response = client.get(f"/api/v1/consultations/{SUMMIT}/items/{code}/feedback?limit=200")
    entry = next(e for e in response.get_json()["data"] if e["id"] == target)
    assert entry["comment"] is None and entry["organisation"] is None
    assert entry["cosigners"] == []
    assert secret not in response.get_data(as_text=True)


def test_filters_by_stance_and_language(seeded, client):
    _item_id, code = _busiest_item(seeded)
    everything = client.get(f"/api/v1/consultations/{SUMMIT}/items/{code}/feedback?limit=200")
    entries = everything.get_json()["data"]
    stance = entries[0]["stance"]
    filtered = client.get(
        f"/api/v1/consultations/{SUMMIT}/items/{code}/feedback?limit=200&stance={stance}"
    ).get_json()["data"]
    assert filtered and all(e["stance"] == stance for e in filtered)
    assert len(filtered) == sum(1 for e in entries if e["stance"] == stance)
    bad = client.get(f"/api/v1/consultations/{SUMMIT}/items/{code}/feedback?stance=maybe")
    assert bad.status_code == 422 and bad.get_json()["error"]["field"] == "stance"


def test_the_councils_published_responses_name_what_they_answer(seeded, client):
    body = client.get(f"/api/v1/consultations/{SUMMIT}/items/P4/responses").get_json()
    assert body["data"], "the demo data has a published response on P4"
    response = body["data"][0]
    assert response["decision"] in {
        "accepted",
        "partly_accepted",
        "not_accepted",
        "under_consideration",
    }
    assert response["rationale"] and response["published_at"].endswith("+00:00")
    with seeded.app_context():
        published = set(
            db.session.scalars(
                select(Feedback.reference).where(Feedback.state == FeedbackState.PUBLISHED)
            )
        )
    assert set(response["answers"]) <= published


def test_a_next_link_stays_valid_when_positions_are_published_meanwhile(seeded, client):
    item_id, code = _busiest_item(seeded)
    base = f"/api/v1/consultations/{SUMMIT}/items/{code}/feedback"
    first = client.get(f"{base}?limit=1").get_json()
    following = client.get(first["next"]).get_json()["data"]
    with seeded.app_context():  # the newest position withdrawn, the next one moved to the top
        newest = first["data"][0]["id"]
        db.session.execute(
            update(Feedback).where(Feedback.id == newest).values(state=FeedbackState.WITHDRAWN)
        )
        db.session.commit()
    again = client.get(first["next"])
    assert again.status_code == 200
    assert [e["id"] for e in again.get_json()["data"]] == [e["id"] for e in following]


def test_a_positions_id_as_cursor_still_reads_and_the_last_page_has_no_next(seeded, client):
    item_id, code = _busiest_item(seeded)
    with seeded.app_context():
        expected = [e.id for e in published.published_feedback(item_id, 1, 500).entries]
    base = f"/api/v1/consultations/{SUMMIT}/items/{code}/feedback"
    by_id = client.get(f"{base}?after={expected[0]}&limit=200").get_json()
    assert [e["id"] for e in by_id["data"]] == expected[1:]
    assert by_id["next"] is None


@pytest.mark.parametrize(
    "cursor", ["abc", "1_", "_1", "1_x", "-1_2", "1.5", "99999999999", "1_99999999999", "١_١"]
)
def test_a_cursor_this_list_never_wrote_is_a_400(seeded, client, cursor):
    _item_id, code = _busiest_item(seeded)
    response = client.get(
        f"/api/v1/consultations/{SUMMIT}/items/{code}/feedback", query_string={"after": cursor}
    )
    assert response.status_code == 400
    assert response.get_json()["error"]["field"] == "after"
