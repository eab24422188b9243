"""The council's responses through the API: recorded, published, read by everyone."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Feedback, FeedbackState, Item

pytestmark = [pytest.mark.postgres]
SUMMIT = "leaders-summit-2021-migration"


def _item_with_published(app) -> tuple[int, str, str]:
    """(item id, code, a published reference on it)."""
    with app.app_context():
        row = db.session.execute(
            select(Item.id, Item.code, Feedback.reference)
            .join(Feedback, Feedback.item_id == Item.id)
            .where(Feedback.state == FeedbackState.PUBLISHED)
            .order_by(Item.id, Feedback.id)
            .limit(1)
        ).one()
    return row.id, row.code, row.reference


def test_the_council_records_a_draft_then_publishes_it_for_everyone(seeded, client, bearer):
    item_id, code, reference = _item_with_published(seeded)
    headers = bearer("council")
    recorded = client.post(
        f"/api/v1/items/{item_id}/responses",
        json={
            "decision": "partly_accepted",
            "rationale": "Care work joins the pathways; the quota stays.",
            "answers": [reference],
        },
        headers=headers,
    )
    assert recorded.status_code == 201, recorded.get_json()
    draft = recorded.get_json()
    assert draft["published_at"] is None and draft["answers"] == [reference]
    public = f"/api/v1/consultations/{SUMMIT}/items/{code}/responses"
    rationale = draft["rationale"]
    assert rationale not in client.get(public).get_data(as_text=True)  # a draft is the council's
    listed = client.get(f"/api/v1/items/{item_id}/responses", headers=headers).get_json()
    assert draft["id"] in [r["id"] for r in listed["data"]]
    published = client.post(f"/api/v1/responses/{draft['id']}/publish", headers=headers)
    assert published.status_code == 200 and published.get_json()["published_at"]
    again = client.post(f"/api/v1/responses/{draft['id']}/publish", headers=headers)
    assert again.status_code == 409
    shown = client.get(public).get_json()["data"]
    assert any(r["rationale"] == rationale and r["answers"] == [reference] for r in shown)


def test_unknown_references_are_refused_naming_the_answers_field(seeded, client, bearer):
    item_id, _code, _reference = _item_with_published(seeded)
    response = client.post(
        f"/api/v1/items/{item_id}/responses",
        json={"decision": "accepted", "rationale": "Yes.", "answers": ["NOPE-1"]},
        headers=bearer("council"),
    )
    assert response.status_code == 400
    assert response.get_json()["error"]["field"] == "answers"


@pytest.mark.parametrize("role", ["stakeholder", "lead", "moderator"])
def test_only_the_council_and_admins_record_responses(seeded, client, bearer, role):
    item_id, _code, _reference = _item_with_published(seeded)
    response = client.post(
        f"/api/v1/items/{item_id}/responses",
        json={"decision": "accepted", "rationale": "Yes."},
        headers=bearer(role),
    )
    assert response.status_code == 403
    assert client.get(f"/api/v1/items/{item_id}/responses", headers=bearer(role)).status_code == 403
