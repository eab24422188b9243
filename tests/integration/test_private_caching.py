"""Staff, report and account answers are never kept by a cache; public pages and static files
may be."""

from __future__ import annotations

import pytest

from app.extensions import db
from app.models import Feedback, FeedbackState

pytestmark = [pytest.mark.postgres]

PRIVATE = "private, no-store"


def a_submission_id(app) -> int:
    with app.app_context():
        return db.session.scalar(
            db.select(Feedback.id).where(Feedback.state == FeedbackState.SUBMITTED).limit(1)
        )


def test_the_review_page_and_the_queue_export_are_never_stored(seeded, client, login):
    login(client, "moderator@example.org")
    review = client.get(f"/moderation/feedback/{a_submission_id(seeded)}")
    assert review.status_code == 200
    assert review.headers["Cache-Control"] == PRIVATE
    export = client.get("/moderation/export.csv")
    assert export.status_code == 200
    assert export.headers["Cache-Control"] == PRIVATE


@pytest.mark.parametrize("path", ["/account/", "/organisation/", "/organisation/feedback", "/"])
def test_every_page_of_someone_signed_in_is_never_stored(seeded, client, login, path):
    login(client, "lead@example.org")
    response = client.get(path)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == PRIVATE


def test_a_refused_staff_page_is_never_stored_either(seeded, client):
    response = client.get("/moderation/")
    assert response.status_code == 403
    assert response.headers["Cache-Control"] == PRIVATE


def test_public_pages_and_static_files_stay_cacheable(seeded, client, login):
    assert "no-store" not in client.get("/").headers.get("Cache-Control", "")
    login(client, "lead@example.org")
    static = client.get("/static/design-system.js")
    assert "no-store" not in static.headers.get("Cache-Control", "")


def test_an_api_answer_to_a_token_holder_is_never_stored(seeded, client):
    response = client.get("/api/v1/consultations", headers={"Authorization": "Bearer nope"})
    assert response.headers["Cache-Control"] == PRIVATE
