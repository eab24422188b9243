"""Attachments through the API: the form's checks, the organisation's scope, removal."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Attachment, Feedback, User
from tests.helpers.files import docx_bomb_streamed, pdf_bytes

pytestmark = [pytest.mark.postgres]


def _own_feedback(app, email: str = "lead@example.org") -> int:
    with app.app_context():
        organisation = db.session.scalar(select(User.organization_id).where(User.email == email))
        return db.session.scalar(
            select(Feedback.id)
            .where(Feedback.organization_id == organisation)
            .order_by(Feedback.id)
        )


def _upload(client, feedback_id: int, headers: dict, data: bytes, name: str, **form):
    return client.post(
        f"/api/v1/feedback/{feedback_id}/attachments",
        data={"file": (io.BytesIO(data), name), **form},
        headers=headers,
        content_type="multipart/form-data",
    )


def test_a_member_uploads_lists_downloads_and_removes_a_file(seeded, client, bearer):
    feedback_id = _own_feedback(seeded)
    headers = bearer("stakeholder")
    response = _upload(
        client, feedback_id, headers, pdf_bytes(), "study.pdf", disclosure="council_only"
    )
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["content_type"] == "application/pdf" and body["disclosure"] == "council_only"
    assert response.headers["Location"] == body["url"]
    listed = client.get(f"/api/v1/feedback/{feedback_id}/attachments", headers=headers)
    assert body["id"] in [a["id"] for a in listed.get_json()["data"]]
    removed = client.delete(f"/api/v1/attachments/{body['id']}", headers=bearer("lead"))
    assert removed.status_code == 204
    with seeded.app_context():
        assert db.session.get(Attachment, body["id"]) is None


@pytest.mark.parametrize(
    ("data", "name"),
    [(b"MZ\x90\x00 an executable", "report.pdf"), (docx_bomb_streamed(), "bomb.docx")],
)
def test_what_the_form_refuses_the_api_refuses_with_the_reason(seeded, client, bearer, data, name):
    feedback_id = _own_feedback(seeded)
    response = _upload(client, feedback_id, bearer("stakeholder"), data, name)
    assert response.status_code == 422  # the file's fault, whatever the position's state
    assert response.get_json()["error"]["field"] == "file"
    assert response.get_json()["error"]["message"]
    with seeded.app_context():
        assert (
            db.session.scalar(select(Attachment.id).where(Attachment.feedback_id == feedback_id))
            is None
        )


def test_a_missing_file_is_a_422_naming_it(seeded, client, bearer):
    response = client.post(
        f"/api/v1/feedback/{_own_feedback(seeded)}/attachments",
        data={"disclosure": "public"},
        headers=bearer("stakeholder"),
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    assert response.get_json()["error"]["field"] == "file"


def test_another_organisations_files_are_out_of_reach(seeded, client, bearer):
    own = _own_feedback(seeded)
    with seeded.app_context():
        organisation = db.session.scalar(select(Feedback.organization_id).where(Feedback.id == own))
        other = db.session.scalar(
            select(Feedback.id)
            .where(Feedback.organization_id != organisation)
            .order_by(Feedback.id)
        )
    headers = bearer("lead")
    assert client.get(f"/api/v1/feedback/{other}/attachments", headers=headers).status_code == 404
    response = _upload(client, other, headers, pdf_bytes(), "x.pdf")
    assert response.status_code == 404
