"""My organisation's feedback through the API: drafts, locking, submission, withdrawal, scope."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Feedback, Item, Stance, User

pytestmark = [pytest.mark.postgres]
SUMMIT = "leaders-summit-2021-migration"


def _org_of(app, email: str) -> int:
    with app.app_context():
        return db.session.scalar(select(User.organization_id).where(User.email == email))


def _free_item(app, organization_id: int) -> int:
    """An item of the Summit consultation the organisation has no feedback on yet."""
    with app.app_context():
        answered = select(Feedback.item_id).where(Feedback.organization_id == organization_id)
        return db.session.scalar(
            select(Item.id).where(Item.id.not_in(answered)).order_by(Item.position, Item.id)
        )


DRAFT = {
    "stance": "support_with_amendments",
    "priority": 4,
    "comment": "Labour pathways should include care workers.",
    "affected_populations": ["labour_migrants"],
    "countries": ["MX", "GT"],
    "amendment": "Add care work to the temporary labour programmes.",
    "evidence_links": ["https://example.org/study"],
}


@pytest.fixture
def draft(seeded, client, bearer):
    """A draft created by the stakeholder's token: (response, its JSON)."""
    item_id = _free_item(seeded, _org_of(seeded, "stakeholder@example.org"))
    response = client.post(
        "/api/v1/feedback", json={**DRAFT, "item_id": item_id}, headers=bearer("stakeholder")
    )
    assert response.status_code == 201, response.get_json()
    return response, response.get_json()


def test_a_member_creates_a_draft_with_location_and_etag(seeded, client, bearer, draft):
    response, body = draft
    assert response.headers["Location"] == f"/api/v1/feedback/{body['id']}"
    assert response.headers["ETag"] == f'"{body["version"]}"'
    assert body["state"] == "draft" and body["priority"] == 4
    assert sorted(body["countries"]) == ["GT", "MX"]
    fetched = client.get(body["url"], headers=bearer("lead"))  # a colleague sees it
    assert fetched.status_code == 200 and fetched.get_json()["comment"] == DRAFT["comment"]
    listed = client.get("/api/v1/feedback", headers=bearer("stakeholder")).get_json()
    assert body["id"] in [row["id"] for row in listed["data"]]


def test_a_second_draft_on_the_same_item_is_a_409_naming_the_field(client, bearer, draft):
    _response, body = draft
    again = client.post(
        "/api/v1/feedback", json={**DRAFT, "item_id": body["item_id"]}, headers=bearer("lead")
    )
    assert again.status_code == 409
    assert again.get_json()["error"]["field"] == "item_id"


def test_updates_need_the_current_etag(seeded, client, bearer, draft):
    _response, body = draft
    url, headers = body["url"], bearer("stakeholder")
    changed = {**DRAFT, "comment": "Second thoughts."}
    missing = client.put(url, json=changed, headers=headers)
    assert missing.status_code == 428
    assert missing.get_json()["error"]["field"] == "If-Match"
    updated = client.put(url, json=changed, headers={**headers, "If-Match": f'"{body["version"]}"'})
    assert updated.status_code == 200
    assert updated.get_json()["comment"] == "Second thoughts."
    assert updated.headers["ETag"] != f'"{body["version"]}"'
    stale = client.put(
        url,
        json={**DRAFT, "comment": "Lost?"},
        headers={**headers, "If-Match": f'"{body["version"]}"'},
    )
    assert stale.status_code == 412
    assert stale.get_json()["error"]["code"] == "stale_version"
    assert client.get(url, headers=headers).get_json()["comment"] == "Second thoughts."


def test_invalid_fields_are_422_with_every_field_at_fault(seeded, client, bearer):
    item_id = _free_item(seeded, _org_of(seeded, "stakeholder@example.org"))
    response = client.post(
        "/api/v1/feedback",
        json={"item_id": item_id, "priority": 9, "affected_populations": ["martians"]},
        headers=bearer("stakeholder"),
    )
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "validation_failed"
    assert set(error["fields"]) == {"priority", "affected_populations"}
    assert error["field"] in error["fields"]


def test_only_the_lead_submits_and_withdraws(seeded, client, bearer, draft):
    _response, body = draft
    etag = {"If-Match": f'"{body["version"]}"'}
    refused = client.post(f"{body['url']}/submit", headers={**bearer("stakeholder"), **etag})
    assert refused.status_code == 403
    submitted = client.post(f"{body['url']}/submit", headers={**bearer("lead"), **etag})
    assert submitted.status_code == 200, submitted.get_json()
    after = submitted.get_json()
    assert after["state"] == "submitted" and after["submitted_at"]
    withdrawn = client.post(
        f"{body['url']}/withdraw", headers={**bearer("lead"), "If-Match": submitted.headers["ETag"]}
    )
    assert withdrawn.status_code == 200
    assert withdrawn.get_json()["state"] == "withdrawn"


def test_another_organisations_feedback_does_not_exist_for_the_caller(seeded, client, bearer):
    own = _org_of(seeded, "lead@example.org")
    with seeded.app_context():
        other = db.session.scalar(
            select(Feedback.id).where(Feedback.organization_id != own).order_by(Feedback.id)
        )
    assert other is not None
    headers = {**bearer("lead"), "If-Match": '"1"'}
    for response in (
        client.get(f"/api/v1/feedback/{other}", headers=headers),
        client.put(f"/api/v1/feedback/{other}", json=DRAFT, headers=headers),
        client.post(f"/api/v1/feedback/{other}/submit", headers=headers),
        client.post(f"/api/v1/feedback/{other}/withdraw", headers=headers),
    ):
        assert response.status_code == 404
        assert response.get_json()["error"]["code"] == "not_found"
    listed = client.get("/api/v1/feedback?limit=200", headers=bearer("lead")).get_json()
    assert other not in [row["id"] for row in listed["data"]]


@pytest.mark.parametrize("role", ["council", "moderator"])
def test_staff_have_no_organisation_feedback_to_reach(client, bearer, role):
    response = client.get("/api/v1/feedback", headers=bearer(role))
    assert response.status_code == 403


def test_a_visitor_must_authenticate(seeded, client):
    assert client.get("/api/v1/feedback").status_code == 401


def test_pages_follow_the_cursor(seeded, client, bearer):
    first = client.get("/api/v1/feedback?limit=1", headers=bearer("lead")).get_json()
    assert len(first["data"]) == 1 and first["next"]
    second = client.get(first["next"], headers=bearer("lead")).get_json()
    assert second["data"] and second["data"][0]["id"] > first["data"][0]["id"]


def test_a_session_request_needs_csrf_but_a_token_request_does_not(seeded, client, login, bearer):
    item_id = _free_item(seeded, _org_of(seeded, "stakeholder@example.org"))
    login(client, "stakeholder@example.org")
    by_cookie = client.post("/api/v1/feedback", json={**DRAFT, "item_id": item_id})
    assert by_cookie.status_code == 400
    assert by_cookie.get_json()["error"]["code"] == "csrf_failed"
    by_token = client.post(
        "/api/v1/feedback", json={**DRAFT, "item_id": item_id}, headers=bearer("stakeholder")
    )
    assert by_token.status_code == 201


def test_the_lead_creates_and_submits_a_position_in_one_request(seeded, client, bearer):
    item_id = _free_item(seeded, _org_of(seeded, "lead@example.org"))
    response = client.post(
        "/api/v1/feedback",
        json={**DRAFT, "item_id": item_id, "submit": True},
        headers=bearer("lead"),
    )
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["state"] == "submitted" and body["submitted_at"] is not None
    with seeded.app_context():
        stored = db.session.get(Feedback, body["id"])
        assert stored.state.value == "submitted"
        assert [revision.number for revision in stored.revisions] == [1]


def test_creating_and_submitting_at_once_keeps_the_lead_only_rule_and_the_input_rules(
    seeded, client, bearer
):
    item_id = _free_item(seeded, _org_of(seeded, "lead@example.org"))
    as_member = client.post(
        "/api/v1/feedback",
        json={**DRAFT, "item_id": item_id, "submit": True},
        headers=bearer("stakeholder"),
    )
    assert as_member.status_code == 403
    no_amendment = client.post(
        "/api/v1/feedback",
        json={**DRAFT, "amendment": "", "item_id": item_id, "submit": True},
        headers=bearer("lead"),
    )
    assert no_amendment.status_code == 422
    assert no_amendment.get_json()["error"]["field"] == "amendment"
    with seeded.app_context():
        organization_id = _org_of(seeded, "lead@example.org")
        assert (
            db.session.scalar(
                select(Feedback.id).where(
                    Feedback.item_id == item_id, Feedback.organization_id == organization_id
                )
            )
            is None
        )


def test_the_lead_submits_no_overall_position_without_an_amendment(seeded, client, bearer):
    item_id = _free_item(seeded, _org_of(seeded, "lead@example.org"))
    response = client.post(
        "/api/v1/feedback",
        json={
            **DRAFT,
            "stance": "no_position",
            "amendment": "",
            "item_id": item_id,
            "submit": True,
        },
        headers=bearer("lead"),
    )
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert (body["stance"], body["state"]) == ("no_position", "submitted")
    with seeded.app_context():
        assert db.session.get(Feedback, body["id"]).stance is Stance.NO_POSITION
    document = client.get("/api/v1/openapi.json").get_json()
    assert "no_position" in str(document)  # a documented choice
