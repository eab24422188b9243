"""Edges of the API found in review: odd input is a 4xx with its field, never a 500; limits
cannot be dodged by spelling; a partial change keeps what it does not name."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Feedback, Item, User
from tests.helpers.files import pdf_bytes

pytestmark = [pytest.mark.postgres]
SUMMIT = "leaders-summit-2021-migration"


def _free_item(app, email: str = "stakeholder@example.org") -> int:
    with app.app_context():
        organisation = db.session.scalar(select(User.organization_id).where(User.email == email))
        answered = select(Feedback.item_id).where(Feedback.organization_id == organisation)
        return db.session.scalar(
            select(Item.id).where(Item.id.not_in(answered)).order_by(Item.position, Item.id)
        )


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/consultations/%00",
        f"/api/v1/consultations/{SUMMIT}/items/P1/feedback?language=%00%00",
    ],
)
def test_a_nul_character_is_a_400_not_a_500(seeded, client, path):
    response = client.get(path)
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "invalid_data"


def test_a_nul_character_in_a_draft_is_a_422_naming_the_field(seeded, client, bearer):
    # An input fault like any other (PostgreSQL could not store it): tests/property has more.
    response = client.post(
        "/api/v1/feedback",
        json={"item_id": _free_item(seeded), "comment": "bad\x00text"},
        headers=bearer("stakeholder"),
    )
    assert response.status_code == 422
    assert response.get_json()["error"]["field"] == "comment"


def test_a_change_keeps_the_fields_it_does_not_name(seeded, client, bearer):
    headers = bearer("stakeholder")
    created = client.post(
        "/api/v1/feedback",
        json={
            "item_id": _free_item(seeded),
            "comment": "For the council only.",
            "comment_disclosure": "council_only",
            "attribution": "anonymous",
            "evidence_links": ["https://example.org/a"],
        },
        headers=headers,
    )
    body = created.get_json()
    changed = client.put(
        body["url"],
        json={"priority": 2},
        headers={**headers, "If-Match": created.headers["ETag"]},
    )
    assert changed.status_code == 200
    after = changed.get_json()
    assert after["priority"] == 2
    assert after["comment_disclosure"] == "council_only" and after["attribution"] == "anonymous"
    assert after["comment"] == "For the council only."
    assert after["evidence_links"] == ["https://example.org/a"]


def test_the_rate_limit_counts_a_token_however_its_header_is_spelt(seeded, client, bearer):
    secret = bearer("lead")["Authorization"].removeprefix("Bearer ")
    seeded.config["SETTINGS"] = seeded.config["SETTINGS"].replace(api_rate_limit="3/minute")
    try:
        spellings = [
            f"Bearer {secret}",
            f"bearer {secret}",
            f"BEARER  {secret}",
            f"Bearer {secret} ",
        ]
        answers = [
            client.get("/api/v1/consultations", headers={"Authorization": spelling}).status_code
            for spelling in spellings
        ]
        assert answers == [200, 200, 200, 429]
    finally:
        seeded.config["SETTINGS"] = seeded.config["SETTINGS"].replace(api_rate_limit="600/minute")


def test_a_401_says_how_to_authenticate_and_carries_the_request_id(seeded, client):
    visitor = client.get("/api/v1/feedback")
    assert visitor.status_code == 401
    assert visitor.headers["WWW-Authenticate"]
    bad = client.get("/api/v1/consultations", headers={"Authorization": "Bearer nope"})
    assert bad.get_json()["request_id"]


def test_a_text_field_named_file_is_refused_naming_it(seeded, client, bearer):
    with seeded.app_context():
        organisation = db.session.scalar(
            select(User.organization_id).where(User.email == "lead@example.org")
        )
        feedback_id = db.session.scalar(
            select(Feedback.id).where(Feedback.organization_id == organisation)
        )
    response = client.post(
        f"/api/v1/feedback/{feedback_id}/attachments",
        data={"file": "just text"},
        headers=bearer("lead"),
        content_type="multipart/form-data",
    )
    assert response.status_code in (400, 422)
    assert response.get_json()["error"]["field"] == "file"


def test_a_token_client_downloads_its_own_council_only_file(seeded, client, bearer):
    with seeded.app_context():
        organisation = db.session.scalar(
            select(User.organization_id).where(User.email == "lead@example.org")
        )
        feedback_id = db.session.scalar(
            select(Feedback.id).where(Feedback.organization_id == organisation)
        )
    headers = bearer("lead")
    uploaded = client.post(
        f"/api/v1/feedback/{feedback_id}/attachments",
        data={"file": (io.BytesIO(pdf_bytes()), "private.pdf"), "disclosure": "council_only"},
        headers=headers,
        content_type="multipart/form-data",
    ).get_json()
    assert uploaded["url"] == f"/api/v1/attachments/{uploaded['id']}"
    assert client.get(uploaded["url"]).status_code == 404  # nobody else
    download = client.get(uploaded["url"], headers=headers)
    assert download.status_code == 200 and download.data.startswith(b"%PDF")


def test_schema_faults_of_a_batch_are_listed_by_row(seeded, client, bearer):
    response = client.post(
        "/api/v1/feedback/batch",
        json={"drafts": [{"item_id": _free_item(seeded)}, {"item_id": 1, "priority": 9}]},
        headers=bearer("stakeholder"),
    )
    assert response.status_code == 422
    rows = response.get_json()["error"]["rows"]
    assert [(row["index"], row["field"]) for row in rows] == [(1, "priority")]
