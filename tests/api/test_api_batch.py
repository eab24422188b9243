"""The batch endpoint: up to 500 drafts, all checked, all or none saved, and an Idempotency-Key
that makes a retry safe."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Feedback, FlagCheck, IdempotentRequest, Item, Notification, User

pytestmark = [pytest.mark.postgres]


def _free_items(app, email: str = "stakeholder@example.org") -> list[int]:
    with app.app_context():
        organisation = db.session.scalar(select(User.organization_id).where(User.email == email))
        answered = select(Feedback.item_id).where(Feedback.organization_id == organisation)
        return list(
            db.session.scalars(
                select(Item.id).where(Item.id.not_in(answered)).order_by(Item.position, Item.id)
            )
        )


def _count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(Feedback.id)))


def _draft(item_id: int, **values) -> dict:
    return {"item_id": item_id, "stance": "support", "priority": 3, "comment": "Yes.", **values}


def test_a_batch_saves_every_draft(seeded, client, bearer):
    items = _free_items(seeded)[:3]
    before = _count(seeded)
    response = client.post(
        "/api/v1/feedback/batch",
        json={"drafts": [_draft(i) for i in items]},
        headers=bearer("stakeholder"),
    )
    assert response.status_code == 201, response.get_json()
    data = response.get_json()["data"]
    assert [row["item_id"] for row in data] == items
    assert all(row["state"] == "draft" and row["priority"] == 3 for row in data)
    assert _count(seeded) == before + 3


def test_a_batch_with_faults_saves_nothing_and_names_each_fault(seeded, client, bearer):
    items = _free_items(seeded)[:3]
    before = _count(seeded)
    response = client.post(
        "/api/v1/feedback/batch",
        json={
            "drafts": [
                _draft(items[0]),
                _draft(items[1], evidence_links=["javascript:alert(1)"]),
                _draft(items[0]),  # the same item twice
                _draft(2_000_000),
            ]
        },
        headers=bearer("stakeholder"),
    )
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "batch_invalid"
    faults = {(row["index"], row["field"]) for row in error["rows"]}
    assert faults == {(1, "evidence_links"), (2, "item_id"), (3, "item_id")}
    assert _count(seeded) == before


def test_more_than_500_drafts_are_refused_before_any_work(seeded, client, bearer):
    item = _free_items(seeded)[0]
    response = client.post(
        "/api/v1/feedback/batch",
        json={"drafts": [_draft(item)] * 501},
        headers=bearer("stakeholder"),
    )
    assert response.status_code == 422
    assert response.get_json()["error"]["field"] == "drafts"


def test_an_idempotency_key_makes_a_retry_answer_the_first_request(seeded, client, bearer):
    items = _free_items(seeded)[:2]
    before = _count(seeded)
    body = {"drafts": [_draft(i) for i in items]}
    headers = {**bearer("stakeholder"), "Idempotency-Key": "coalition-upload-0001"}
    first = client.post("/api/v1/feedback/batch", json=body, headers=headers)
    retry = client.post("/api/v1/feedback/batch", json=body, headers=headers)
    assert first.status_code == retry.status_code == 201
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert retry.get_json() == first.get_json()
    assert _count(seeded) == before + 2  # saved once
    other = client.post(
        "/api/v1/feedback/batch",
        json={"drafts": [_draft(_free_items(seeded)[0])]},
        headers=headers,
    )
    assert other.status_code == 422
    assert other.get_json()["error"]["code"] == "idempotency_key_reused"
    # Keys belong to their user: a colleague's same key is a new request.
    with seeded.app_context():
        assert db.session.scalar(select(func.count(IdempotentRequest.id))) == 1


def test_a_failed_batch_leaves_its_key_free_for_the_corrected_retry(seeded, client, bearer):
    item = _free_items(seeded)[0]
    headers = {**bearer("stakeholder"), "Idempotency-Key": "retry-after-fix"}
    bad = client.post(
        "/api/v1/feedback/batch", json={"drafts": [_draft(item, priority=9)]}, headers=headers
    )
    assert bad.status_code == 422
    good = client.post("/api/v1/feedback/batch", json={"drafts": [_draft(item)]}, headers=headers)
    assert good.status_code == 201


def test_the_lead_submits_a_whole_batch_in_one_request(seeded, client, bearer):
    items = _free_items(seeded, "lead@example.org")[:3]
    submitted = {
        "stance": "oppose",
        "comment": "The pledge does not protect people who are waiting at the border.",
        "amendment": "Add a commitment on reception conditions at every crossing.",
    }
    response = client.post(
        "/api/v1/feedback/batch",
        json={
            "drafts": [
                _draft(items[0], submit=True, **submitted),
                _draft(items[1]),  # stays a draft
                _draft(items[2], submit=True, **submitted),
            ]
        },
        headers=bearer("lead"),
    )
    assert response.status_code == 201, response.get_json()
    states = [row["state"] for row in response.get_json()["data"]]
    assert states == ["submitted", "draft", "submitted"]
    with seeded.app_context():
        lead = db.session.scalar(select(User).where(User.email == "lead@example.org"))
        rows = db.session.scalars(
            select(Feedback).where(
                Feedback.item_id.in_(items), Feedback.organization_id == lead.organization_id
            )
        ).all()
        assert len(rows) == 3
        for row in rows:
            if row.state.value == "submitted":
                assert [revision.number for revision in row.revisions] == [1]
                assert row.submitted_at is not None and row.language == "en"
        ids = [row.id for row in rows if row.state.value == "submitted"]
        checks = db.session.scalars(
            select(FlagCheck.feedback_id).where(FlagCheck.feedback_id.in_(ids))
        ).all()
        receipts = db.session.scalars(
            select(Notification.dedupe_key).where(
                Notification.dedupe_key.like("feedback_receipt:%")
            )
        ).all()
    assert sorted(checks) == sorted(ids)  # each submission waits for its flags
    assert {f"feedback_receipt:{i}:1" for i in ids} <= set(receipts)  # and has its receipt


def test_a_batch_that_submits_keeps_the_lead_only_rule_and_the_submission_rules(
    seeded, client, bearer
):
    items = _free_items(seeded, "lead@example.org")[:2]
    before = _count(seeded)
    as_member = client.post(
        "/api/v1/feedback/batch",
        json={"drafts": [_draft(items[0], submit=True, stance="oppose", amendment="Rewrite.")]},
        headers=bearer("stakeholder"),
    )
    assert as_member.status_code == 403
    missing_amendment = client.post(
        "/api/v1/feedback/batch",
        json={
            "drafts": [
                _draft(items[0]),
                _draft(items[1], submit=True, stance="support_with_amendments"),
            ]
        },
        headers=bearer("lead"),
    )
    assert missing_amendment.status_code == 422
    rows = missing_amendment.get_json()["error"]["rows"]
    assert [(row["index"], row["field"]) for row in rows] == [(1, "amendment")]
    assert _count(seeded) == before
