"""JSON bodies that parse but that no field can hold (a 422 naming where), or that do not parse
without exhausting the interpreter (a 400): never a 500, and nothing stored."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Feedback
from tests.api.test_api_edges import _free_item

pytestmark = [pytest.mark.postgres]


def feedback_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Feedback))


def post_raw(client, body: str, headers: dict[str, str], path: str = "/api/v1/feedback"):
    return client.post(
        path,
        data=body.encode(),
        headers={**headers, "Content-Type": "application/json"},
    )


def test_a_lone_surrogate_in_a_comment_is_a_400_naming_the_field(seeded, client, bearer):
    before = feedback_count(seeded)
    item = _free_item(seeded)
    response = post_raw(
        client,
        f'{{"item_id": {item}, "comment": "half an emoji \\ud83d here"}}',
        bearer("stakeholder"),
    )
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "invalid_input"
    assert error["field"] == "comment"
    assert feedback_count(seeded) == before


def test_a_whole_surrogate_pair_is_an_emoji_and_is_kept(seeded, client, bearer):
    item = _free_item(seeded)
    response = post_raw(
        client, f'{{"item_id": {item}, "comment": "a smile \\ud83d\\ude00"}}', bearer("stakeholder")
    )
    assert response.status_code == 201
    assert response.get_json()["comment"] == "a smile \U0001f600"


def test_a_lone_surrogate_deep_in_a_batch_names_its_row_and_field(seeded, client, bearer):
    response = post_raw(
        client,
        '{"drafts": [{"item_id": 1, "comment": "fine"}, {"item_id": 2, "comment": "\\udc00"}]}',
        bearer("stakeholder"),
        "/api/v1/feedback/batch",
    )
    assert response.status_code == 422
    assert response.get_json()["error"]["field"] == "drafts.1.comment"


@pytest.mark.parametrize("depth", [2_000, 100_000])
def test_deeply_nested_json_is_a_400_not_a_500(seeded, client, bearer, depth):
    response = post_raw(client, "[" * depth + "]" * depth, bearer("stakeholder"))
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "invalid_json"


def test_a_visitor_with_a_malformed_body_is_told_to_authenticate_first(seeded, client):
    response = post_raw(client, "[" * 5_000, {})
    assert response.status_code == 401
