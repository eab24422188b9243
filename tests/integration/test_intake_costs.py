"""What one submission costs, and follow-up work in batches: a submission is a handful of
statements and one commit, and a burst of them wakes the worker once per kind of work, which
then flags every submission and sends every receipt."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import event, func, select

from app import wakeups
from app.accounts import profile
from app.extensions import db
from app.models import (
    Consultation,
    Feedback,
    FeedbackFingerprint,
    FlagCheck,
    Item,
    Notification,
    NotificationStatus,
)
from app.moderation import flagging
from app.notifications import mail
from tests import factories
from tests.helpers.waiting import wait_for
from tests.helpers.web import csrf_token

pytestmark = [pytest.mark.postgres]
SUMMIT = "leaders-summit-2021-migration"
POSITION = {
    "stance": "support_with_amendments",
    "priority": 4,
    "comment": "Labour pathways should include care workers and their families.",
    "affected_populations": ["labour_migrants"],
    "countries": ["MX", "GT"],
    "amendment": "Add care work to the temporary labour programmes.",
    "evidence_links": ["https://example.org/study"],
}


def _summit_items(app) -> list[int]:
    with app.app_context():
        return list(
            db.session.scalars(
                select(Item.id)
                .join(Consultation)
                .where(Consultation.slug == SUMMIT)
                .order_by(Item.position, Item.id)
            )
        )


def _lead_tokens(app, count: int) -> list[str]:
    """Bearer headers of the leads of `count` new organisations."""
    with app.app_context():
        return [
            f"Bearer {profile.create_api_token(factories.lead().id, 'intake').secret}"
            for _ in range(count)
        ]


def _submit(client, token: str, item_id: int):
    return client.post(
        "/api/v1/feedback",
        json={**POSITION, "item_id": item_id, "submit": True},
        headers={"Authorization": token},
    )


@contextmanager
def _counting(engine) -> Iterator[tuple[list[str], list[int]]]:  # noqa: ANN001
    """The first word of every statement `engine` runs meanwhile, and its commits."""
    statements: list[str] = []
    commits: list[int] = []

    def count(_connection, _cursor, statement, *_args) -> None:
        statements.append(statement.split(None, 1)[0].upper())

    def commit(_connection) -> None:
        commits.append(1)

    event.listen(engine, "before_cursor_execute", count)
    event.listen(engine, "commit", commit)
    try:
        yield statements, commits
    finally:
        event.remove(engine, "before_cursor_execute", count)
        event.remove(engine, "commit", commit)


def test_a_submission_through_the_api_is_ten_statements_and_one_commit(seeded, client):
    (token,) = _lead_tokens(seeded, 1)
    item_id = _summit_items(seeded)[0]
    client.get("/api/v1/feedback", headers={"Authorization": token})  # the token's use noted
    with seeded.app_context():
        engine = db.engine
    with _counting(engine) as (statements, commits):
        response = _submit(client, token, item_id)
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["item_code"]  # the answer names the item without re-reading it
    # Token, item + consultation + text, own feedback, organisation (locked), co-signatures;
    # feedback, revision, receipt, flag check, audit.
    assert statements.count("SELECT") == 5
    assert statements.count("INSERT") == 5
    assert len(statements) == 10
    assert len(commits) == 1


def test_a_submission_through_the_web_form_costs_one_statement_more_than_the_api(
    seeded, client, login
):
    with seeded.app_context():
        lead = factories.lead()
        email = lead.email
    login(client, email, factories.PASSWORD)
    form_url = "/c/leaders-summit-2021-migration/items/P1/feedback"
    page = client.get(form_url).get_data(as_text=True)
    with seeded.app_context():
        engine = db.engine
    with _counting(engine) as (statements, commits):
        response = client.post(
            form_url,
            data={
                "csrf_token": csrf_token(page),
                "lock_version": "0",
                "stance": "support",
                "priority": "4",
                "comment": "Submitted from the form in one step.",
                "submit": "Submit feedback",
            },
        )
    assert response.status_code == 302, response.get_data(as_text=True)
    assert "/items/P1" in response.headers["Location"]
    # The API's ten, with the signed-in user in place of the token and one read more for the
    # item the address names; the stored position is not read before saving, nor the new row
    # back for the thank-you note.
    assert statements.count("SELECT") == 6
    assert statements.count("INSERT") == 5
    assert len(statements) == 11
    assert len(commits) == 1


def test_a_burst_of_submissions_wakes_each_kind_of_follow_up_once(seeded, client, monkeypatch):
    sent: list[str] = []
    celery = seeded.extensions["celery"]
    monkeypatch.setattr(celery, "send_task", lambda name, **_options: sent.append(name))
    tokens = _lead_tokens(seeded, 12)
    item_id = _summit_items(seeded)[0]
    with seeded.app_context():
        wakeups.drained(mail.DELIVER_PENDING_TASK)  # no wake-up pending before the burst
        wakeups.drained(flagging.FLAG_PENDING_TASK)
    for token in tokens:
        assert _submit(client, token, item_id).status_code == 201
    assert sorted(sent) == sorted([flagging.FLAG_PENDING_TASK, mail.DELIVER_PENDING_TASK])
    with seeded.app_context():
        assert db.session.scalar(select(func.count()).select_from(FlagCheck)) == 12
        # Once the worker has drained the checks, the next submission wakes it again.
        flagging.flag_pending()
        assert db.session.scalar(select(func.count()).select_from(FlagCheck)) == 0
    sent.clear()
    (late,) = _lead_tokens(seeded, 1)
    assert _submit(client, late, item_id).status_code == 201
    assert flagging.FLAG_PENDING_TASK in sent


@pytest.mark.worker
@pytest.mark.redis
def test_a_real_worker_flags_every_submission_of_a_burst_and_sends_every_receipt(
    seeded, client, celery_worker, mail_catcher
):
    tokens = _lead_tokens(seeded, 8)
    items = _summit_items(seeded)[:3]
    ids = []
    for token in tokens:
        for item_id in items:
            response = _submit(client, token, item_id)
            assert response.status_code == 201, response.get_json()
            ids.append(response.get_json()["id"])

    def settled() -> bool:
        with seeded.app_context():
            flagged = db.session.scalar(
                select(func.count(func.distinct(FeedbackFingerprint.feedback_id))).where(
                    FeedbackFingerprint.feedback_id.in_(ids),
                    FeedbackFingerprint.band == flagging.SENTINEL_BAND,
                )
            )
            sent = db.session.scalar(
                select(func.count())
                .select_from(Notification)
                .where(
                    Notification.dedupe_key.like("feedback_receipt:%"),
                    Notification.status == NotificationStatus.SENT,
                )
            )
            return flagged == len(ids) and sent == len(ids)

    assert wait_for(settled, timeout=60)
    with seeded.app_context():
        assert db.session.scalar(select(func.count()).select_from(FlagCheck)) == 0
        references = set(db.session.scalars(select(Feedback.reference).where(Feedback.id.in_(ids))))
    bodies = "\n".join(m.get_body(("plain",)).get_content() for m in mail_catcher.messages)
    assert all(reference in bodies for reference in references)  # each receipt arrived
