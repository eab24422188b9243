"""Campaigns: the group view and bulk decisions carried out in resumable chunks by a worker."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select, text, update

from app.extensions import db
from app.models import AuditEvent, Feedback, FeedbackState, Item, User
from app.models.base import utcnow
from app.models.moderation import BulkAction, BulkStatus
from app.services import campaigns
from app.services.errors import DomainError, Forbidden
from tests.conftest import hidden_fields, wait_for

pytestmark = [pytest.mark.postgres]

KEY = "camp-test"
SHARED = "We ask the council to protect the right to seek asylum at every border crossing."


def _user(email: str) -> int:
    return db.session.scalar(select(User.id).where(User.email == email))


def _make_campaign(size: int, key: str = KEY) -> list[int]:
    """`size` SUBMITTED members of one campaign, written set-based (one org per member)."""
    item = db.session.scalar(select(Item).where(Item.code == "P1"))
    version_id = db.session.scalar(
        text("SELECT max(id) FROM item_versions WHERE item_id = :item"), {"item": item.id}
    )
    params = {"n": size, "key": key, "item": item.id, "version": version_id, "text": SHARED}
    db.session.execute(
        text(
            "INSERT INTO organizations (name, type, country, verification, created_at)"
            " SELECT 'Campaign org ' || CAST(:key AS text) || ' ' || g,"
            " 'ngo', 'MX', 'verified', now()"
            " FROM generate_series(1, :n) AS g"
        ),
        params,
    )
    db.session.execute(
        text(
            "INSERT INTO feedback (reference, item_id, item_version_id, organization_id, state,"
            " stance, priority, affected_populations, countries, comment, comment_disclosure,"
            " amendment, amendment_disclosure, evidence_links, attribution, lock_version,"
            " created_at, updated_at, submitted_at)"
            " SELECT 'C-' || CAST(:key AS text) || '-' || o.id, :item, :version, o.id, 'submitted',"
            " 'support', 3, '[]', '[]',"
            # every seventh member changes a word, so the differences have something to show
            " CASE WHEN o.id % 7 = 0 THEN replace(CAST(:text AS text), 'every', 'each')"
            " ELSE CAST(:text AS text) END,"
            " 'public', '', 'public', '[]', 'named', 1, now(), now(), now()"
            " FROM organizations o WHERE o.name LIKE 'Campaign org ' || CAST(:key AS text) || ' %'"
        ),
        params,
    )
    db.session.execute(
        text(
            "INSERT INTO moderation_flags (feedback_id, kind, detail, campaign_key, created_at)"
            " SELECT f.id, 'campaign', 'near-duplicate group', CAST(:key AS text), now()"
            " FROM feedback f WHERE f.reference LIKE 'C-' || CAST(:key AS text) || '-%'"
        ),
        params,
    )
    db.session.commit()
    return list(
        db.session.scalars(
            select(Feedback.id).where(Feedback.reference.like(f"C-{key}-%")).order_by(Feedback.id)
        )
    )


def _states(ids: list[int]) -> dict[FeedbackState, int]:
    rows = db.session.execute(
        select(Feedback.state, func.count()).where(Feedback.id.in_(ids)).group_by(Feedback.state)
    )
    return dict(rows.all())


def _audit_count(action: str, action_id: int) -> int:
    return db.session.scalar(
        select(func.count())
        .select_from(AuditEvent)
        .where(AuditEvent.action == action, AuditEvent.target_id == action_id)
    )


@pytest.fixture
def sent(monkeypatch) -> list[tuple]:
    """Wake-ups recorded instead of sent, so the session's worker never races a test."""
    calls: list[tuple] = []
    monkeypatch.setattr(campaigns, "enqueue_after_commit", lambda *args: calls.append(args))
    return calls


def _unsent(moderator: int, kind: str, **values) -> int:
    """A bulk action recorded without a wake-up, so no worker races the test."""
    total = db.session.scalar(
        select(func.count()).where(
            Feedback.reference.like(f"C-{KEY}-%"), Feedback.state == FeedbackState.SUBMITTED
        )
    )
    action = BulkAction(
        kind=kind,
        campaign_key=KEY,
        requested_by_id=moderator,
        status=BulkStatus.QUEUED,
        total=total,
        done=0,
        attempts=0,
        **values,
    )
    db.session.add(action)
    db.session.commit()
    return action.id


@pytest.mark.worker
@pytest.mark.redis
def test_publishing_ten_thousand_members_runs_on_the_worker_in_chunks(seeded, celery_worker):
    with seeded.test_request_context():
        moderator = _user("moderator@example.org")
        ids = _make_campaign(10_000)
        started = time.monotonic()
        action_id = campaigns.request_bulk(moderator, KEY, campaigns.PUBLISH_ALL).id

        def finished() -> bool:
            db.session.expire_all()
            return db.session.get(BulkAction, action_id).status is BulkStatus.DONE

        wait_for(finished, timeout=120, interval=0.5)
        elapsed = time.monotonic() - started
        action = db.session.get(BulkAction, action_id)
        assert action.total == action.done == 10_000
        assert action.attempts == 1
        assert _states(ids) == {FeedbackState.PUBLISHED: 10_000}
        assert _audit_count("campaign.bulk_chunk", action_id) == 10_000 // campaigns.CHUNK_SIZE
        assert _audit_count("campaign.bulk_requested", action_id) == 1
        assert _audit_count("campaign.bulk_done", action_id) == 1
        assert campaigns.bulk_status(moderator, action_id)["percent"] == 100
        print(f"10,000-member publish_all finished in {elapsed:.1f}s")  # noqa: T201


def test_a_run_whose_worker_died_mid_way_is_resumed_without_double_processing(seeded, sent):
    with seeded.test_request_context():
        moderator = _user("moderator@example.org")
        ids = _make_campaign(1_200)
        action_id = _unsent(moderator, campaigns.PUBLISH_ALL)
        # The first worker decides one chunk, then dies: its lease is left behind.
        assert campaigns.run_bulk_action(action_id, max_chunks=1) is False
        assert _states(ids) == {
            FeedbackState.PUBLISHED: campaigns.CHUNK_SIZE,
            FeedbackState.SUBMITTED: 1_200 - campaigns.CHUNK_SIZE,
        }
        action = db.session.get(BulkAction, action_id)
        assert action.status is BulkStatus.RUNNING
        assert action.done == campaigns.CHUNK_SIZE
        # While the lease holds, a second delivery of the wake-up does nothing.
        assert campaigns.run_bulk_action(action_id) is False
        assert campaigns.reconcile_bulk_actions() == []
        db.session.execute(
            update(BulkAction)
            .where(BulkAction.id == action_id)
            .values(lease_until=utcnow() - timedelta(seconds=1))
        )
        db.session.commit()
        assert campaigns.reconcile_bulk_actions() == [action_id]
        assert sent == [(campaigns.RUN_TASK, action_id)]
        assert campaigns.run_bulk_action(action_id) is True
        db.session.expire_all()
        action = db.session.get(BulkAction, action_id)
        assert action.status is BulkStatus.DONE
        assert action.done == action.total == 1_200
        assert action.attempts == 2
        assert _states(ids) == {FeedbackState.PUBLISHED: 1_200}
        # Every member was updated exactly once: one version bump each.
        versions = db.session.scalars(
            select(func.distinct(Feedback.lock_version)).where(Feedback.id.in_(ids))
        ).all()
        assert versions == [2]
        assert _audit_count("campaign.bulk_chunk", action_id) == 3


def test_the_old_owner_stops_once_its_lease_was_taken_over(seeded):
    with seeded.test_request_context():
        moderator = _user("moderator@example.org")
        _make_campaign(600)
        action_id = _unsent(moderator, campaigns.PUBLISH_ALL)
        old_token = campaigns._claim(action_id)
        db.session.execute(
            update(BulkAction)
            .where(BulkAction.id == action_id)
            .values(lease_until=utcnow() - timedelta(seconds=1))
        )
        db.session.commit()
        new_token = campaigns._claim(action_id)
        assert new_token == old_token + 1
        assert campaigns._run_chunk(action_id, old_token) is None  # not ours any more
        assert campaigns._run_chunk(action_id, new_token) == campaigns.CHUNK_SIZE


def test_reject_all_needs_a_reason(seeded):
    with seeded.test_request_context():
        moderator = _user("moderator@example.org")
        _make_campaign(3)
        with pytest.raises(DomainError) as refused:
            campaigns.request_bulk(moderator, KEY, campaigns.REJECT_ALL, reason_code=None)
        assert refused.value.field == "reason_code"
        with pytest.raises(DomainError):
            campaigns.request_bulk(moderator, KEY, campaigns.REJECT_ALL, reason_code="rude")
        assert db.session.scalar(select(func.count()).select_from(BulkAction)) == 0


def test_reject_all_records_the_reason_on_every_member(seeded):
    with seeded.test_request_context():
        moderator = _user("moderator@example.org")
        ids = _make_campaign(5)
        action_id = _unsent(moderator, campaigns.REJECT_ALL, reason_code="spam", note="Copied.")
        assert campaigns.run_bulk_action(action_id) is True
        rows = db.session.execute(
            select(Feedback.state, Feedback.moderation_code, Feedback.moderation_reason).where(
                Feedback.id.in_(ids)
            )
        ).all()
        assert set(rows) == {(FeedbackState.REJECTED, "spam", "Copied.")}


def test_publish_one_publishes_the_representative_and_counts_the_rest(seeded):
    with seeded.test_request_context():
        moderator = _user("moderator@example.org")
        ids = _make_campaign(8)
        representative = ids[3]
        with pytest.raises(DomainError):  # not a member of the group
            campaigns.request_bulk(
                moderator, KEY, campaigns.PUBLISH_ONE, representative_id=ids[0] - 1
            )
        action_id = _unsent(moderator, campaigns.PUBLISH_ONE, representative_id=representative)
        assert campaigns.run_bulk_action(action_id) is True
        reference = db.session.get(Feedback, representative).reference
        assert db.session.get(Feedback, representative).state is FeedbackState.PUBLISHED
        rest = db.session.execute(
            select(Feedback.state, Feedback.moderation_code, Feedback.moderation_reason).where(
                Feedback.id.in_(ids), Feedback.id != representative
            )
        ).all()
        assert len(rest) == 7
        assert {(state, code) for state, code, _reason in rest} == {
            (FeedbackState.REJECTED, campaigns.COUNTED_CODE)
        }
        assert all(reference in reason for _state, _code, reason in rest)
        assert db.session.get(BulkAction, action_id).done == 8


def test_the_campaign_pages_show_groups_differences_and_start_a_bulk_decision(
    seeded, client, login, sent
):
    with seeded.test_request_context():
        ids = _make_campaign(60)
    login(client, "moderator@example.org")
    listing = client.get("/moderation/campaigns/")
    assert listing.status_code == 200
    assert f'data-campaign="{KEY}"' in listing.get_data(as_text=True)
    page = client.get(f"/moderation/campaigns/{KEY}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert SHARED in html
    assert "<del>every</del><ins>each</ins>" in html  # the seventh member's change
    assert html.count("data-member=") == campaigns.PAGE_SIZE
    second = client.get(f"/moderation/campaigns/{KEY}?after={ids[campaigns.PAGE_SIZE - 1]}")
    assert second.get_data(as_text=True).count("data-member=") == 60 - campaigns.PAGE_SIZE
    refused = client.post(
        f"/moderation/campaigns/{KEY}/bulk",
        data={**hidden_fields(html), "kind": campaigns.REJECT_ALL, "reason_code": ""},
    )
    assert refused.status_code == 302
    assert client.get(refused.location).status_code == 200
    started = client.post(
        f"/moderation/campaigns/{KEY}/bulk",
        data={**hidden_fields(html), "kind": campaigns.REJECT_ALL, "reason_code": "duplicate"},
    )
    assert started.status_code == 302
    assert "/moderation/campaigns/actions/" in started.location
    progress = client.get(started.location).get_data(as_text=True)
    assert "<progress" in progress and "bulk-progress.js" in progress
    status = client.get(started.location + "/status").get_json()
    assert status == {**status, "total": 60, "done": 0, "status": "queued", "percent": 0}
    assert len(sent) == 1


@pytest.mark.parametrize("email", ["lead@example.org", "council@example.org", None])
def test_stakeholders_council_and_visitors_are_refused(seeded, client, login, email):
    with seeded.test_request_context():
        _make_campaign(2)
        moderator = _user("moderator@example.org")
        action_id = _unsent(moderator, campaigns.PUBLISH_ALL)
    if email:
        login(client, email)
    urls = [
        "/moderation/campaigns/",
        f"/moderation/campaigns/{KEY}",
        f"/moderation/campaigns/actions/{action_id}",
        f"/moderation/campaigns/actions/{action_id}/status",
    ]
    for url in urls:
        response = client.get(url)
        body = response.get_data(as_text=True)
        # A visitor is sent to sign in; a signed-in user without the role gets 403.
        assert response.status_code == (403 if email else 302), url
        assert SHARED not in body and "data-member" not in body and "data-campaign" not in body
    # A valid CSRF token from a page the user may see: the refusal is the role check.
    token = hidden_fields(client.get("/").get_data(as_text=True)).get("csrf_token", "")
    posted = client.post(
        f"/moderation/campaigns/{KEY}/bulk", data={"kind": "publish_all", "csrf_token": token}
    )
    assert posted.status_code == (403 if email else 302)
    with seeded.test_request_context():
        assert db.session.scalar(select(func.count()).select_from(BulkAction)) == 1
        if email:
            with pytest.raises(Forbidden):
                campaigns.campaign_groups(_user(email))
