"""Input faults are 422 naming the field at fault; 409 stays for what the data's state refuses
whatever is sent (issue 17: a file the content check refused answered 409 `invalid_state`)."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.feedback.attachments import MAX_ATTACHMENTS_PER_FEEDBACK
from app.models import Attachment, Feedback, FeedbackState, Item, User
from tests.helpers.files import pdf_bytes

pytestmark = [pytest.mark.postgres]


def _draft(app) -> int:
    """The demo organisation's draft (its member may change its files)."""
    with app.app_context():
        organisation = db.session.scalar(
            select(User.organization_id).where(User.email == "stakeholder@example.org")
        )
        return db.session.scalar(
            select(Feedback.id).where(
                Feedback.organization_id == organisation, Feedback.state == FeedbackState.DRAFT
            )
        )


def _organisation(app) -> int:
    with app.app_context():
        return db.session.scalar(
            select(User.organization_id).where(User.email == "stakeholder@example.org")
        )


def _free_item(app) -> int:
    """An item the demo organisation has not answered."""
    answered = select(Feedback.item_id).where(Feedback.organization_id == _organisation(app))
    with app.app_context():
        return db.session.scalar(select(Item.id).where(Item.id.not_in(answered)).order_by(Item.id))


def _upload(client, feedback_id: int, headers: dict, data: bytes, name: str):
    return client.post(
        f"/api/v1/feedback/{feedback_id}/attachments",
        data={"file": (io.BytesIO(data), name)},
        headers=headers,
        content_type="multipart/form-data",
    )


def _files_of(app, feedback_id: int) -> int:
    with app.app_context():
        return db.session.scalar(
            select(func.count(Attachment.id)).where(Attachment.feedback_id == feedback_id)
        )


@pytest.mark.parametrize(
    ("data", "name"),
    [
        (b"MZ\x90\x00 an executable", "tool.exe"),
        (b"", "empty.pdf"),
        (b"PK\x03\x04 no zip", "broken.docx"),
    ],
)
def test_a_file_that_is_no_accepted_document_is_a_422_naming_the_file(
    seeded, client, bearer, data, name
):
    feedback_id = _draft(seeded)
    response = _upload(client, feedback_id, bearer("stakeholder"), data, name)
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert (error["code"], error["field"]) == ("invalid_input", "file")
    assert _files_of(seeded, feedback_id) == 0


def test_a_file_too_many_is_refused_by_the_positions_state_with_409(seeded, client, bearer):
    feedback_id, headers = _draft(seeded), bearer("stakeholder")
    for number in range(MAX_ATTACHMENTS_PER_FEEDBACK):
        response = _upload(client, feedback_id, headers, pdf_bytes(number), f"{number}.pdf")
        assert response.status_code == 201
    response = _upload(client, feedback_id, headers, pdf_bytes(99), "one-more.pdf")
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "invalid_state"
    assert _files_of(seeded, feedback_id) == MAX_ATTACHMENTS_PER_FEEDBACK


@pytest.mark.parametrize("link", ["javascript:alert(1)", "https://example.org/\x01"])
def test_an_evidence_link_that_is_no_web_address_is_a_422_naming_the_links(
    seeded, client, bearer, link
):
    item_id = _free_item(seeded)
    response = client.post(
        "/api/v1/feedback",
        json={"item_id": item_id, "evidence_links": [link]},
        headers=bearer("stakeholder"),
    )
    assert response.status_code == 422
    assert response.get_json()["error"]["field"] == "evidence_links"
    mine = select(Feedback.id).where(
        Feedback.item_id == item_id, Feedback.organization_id == _organisation(seeded)
    )
    with seeded.app_context():
        assert db.session.scalar(mine) is None
