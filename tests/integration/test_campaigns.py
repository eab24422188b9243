"""Campaigns: the group view and bulk decisions carried out in resumable chunks by a worker."""

from __future__ import annotations

import re
import secrets
import time
from datetime import timedelta
from html import escape as html_escape

import pytest
from sqlalchemy import func, select, text, update

from app import jobs
from app.errors import DomainError, Forbidden
from app.extensions import db
from app.models import (
    AuditEvent,
    Feedback,
    FeedbackState,
    Item,
    Notification,
    NotificationStatus,
    User,
)
from app.models.base import utcnow
from app.models.moderation import BulkAction, BulkStatus
from app.moderation import campaign_groups, campaigns
from tests.helpers.jobs import record_wake_ups
from tests.helpers.mail import MailCatcher
from tests.helpers.waiting import wait_for
from tests.helpers.web import hidden_fields

pytestmark = [pytest.mark.postgres]

KEY = "camp-test"
SHARED = "We ask the council to protect the right to seek asylum at every border crossing."
# What a lead reads for reason "spam" with the note "Copied.", in each language.
SPAM_COPIED = {
    "en": ("Reason", "Spam or advertising. Copied."),
    "es": ("Motivo", "Spam o publicidad. Copied."),
    "fr": ("Motif", "Spam ou publicité. Copied."),
}
NOT_PUBLISHED = {
    "en": "was not published",
    "es": "no se ha publicado",
    "fr": "La contribution de votre organisation",
}


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


def _person(feedback_id: int, locale: str, *, is_lead: bool = True, active: bool = True) -> str:
    """A member of the organisation that wrote `feedback_id`; their (unique) email."""
    organization_id = db.session.get(Feedback, feedback_id).organization_id
    # The session's mail catcher keeps every message, and ids restart with every test.
    email = f"{locale}-{secrets.token_hex(4)}@org{organization_id}.example.org"
    db.session.add(
        User(
            email=email,
            name=f"Member {locale}",
            password_hash="-",
            organization_id=organization_id,
            is_lead=is_lead,
            locale=locale,
            active=active,
        )
    )
    db.session.commit()
    return email


def _outbox(emails: list[str]) -> list[Notification]:
    db.session.expire_all()
    return list(db.session.scalars(select(Notification).where(Notification.to_email.in_(emails))))


def _body(message) -> str:  # noqa: ANN001 - an email.message.EmailMessage
    return message.get_body(preferencelist=("plain",)).get_content()


def _received(catcher: MailCatcher, email: str) -> list:
    return [message for message in catcher.messages if message["To"] == email]


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
    return record_wake_ups(monkeypatch, "worker.campaigns.")


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
        assert sent == [(campaigns.RUN_TASK, (action_id,))]
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
        old_token = jobs.claim(campaigns.BULK_ACTION, action_id)
        db.session.execute(
            update(BulkAction)
            .where(BulkAction.id == action_id)
            .values(lease_until=utcnow() - timedelta(seconds=1))
        )
        db.session.commit()
        new_token = jobs.claim(campaigns.BULK_ACTION, action_id)
        assert new_token not in (None, old_token)
        assert db.session.get(BulkAction, action_id).attempts == 2
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
        # As for a single rejection, "other" is explained to the organisations in the note.
        with pytest.raises(DomainError) as unexplained:
            campaigns.request_bulk(moderator, KEY, campaigns.REJECT_ALL, reason_code="other")
        assert unexplained.value.field == "note"
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
        # The reason as a single rejection words it (no leads: in English).
        assert set(rows) == {(FeedbackState.REJECTED, "spam", "Spam or advertising. Copied.")}


@pytest.mark.worker
@pytest.mark.redis
def test_reject_all_mails_every_lead_once_in_their_language_with_the_reason(
    seeded, celery_worker, mail_catcher
):
    with seeded.test_request_context():
        moderator = _user("moderator@example.org")
        ids = _make_campaign(4)
        leads = {
            _person(ids[0], "en"): "en",
            _person(ids[1], "es"): "es",
            _person(ids[2], "fr"): "fr",
            # An organisation with two leads: each reads the message in their own language.
            _person(ids[3], "fr"): "fr",
            _person(ids[3], "es"): "es",
        }
        not_told = [
            _person(ids[3], "en", is_lead=False),
            _person(ids[3], "en", active=False),
        ]
        action_id = campaigns.request_bulk(
            moderator, KEY, campaigns.REJECT_ALL, reason_code="spam", note="Copied."
        ).id

        def delivered() -> bool:
            outbox = _outbox(list(leads))
            return len(outbox) == len(leads) and all(
                n.status is NotificationStatus.SENT for n in outbox
            )

        wait_for(delivered, timeout=60, interval=0.3)
        assert db.session.get(BulkAction, action_id).status is BulkStatus.DONE
        for email, locale in leads.items():
            [message] = _received(mail_catcher, email)
            body = _body(message)
            assert NOT_PUBLISHED[locale] in message["Subject"]
            label, reason = SPAM_COPIED[locale]
            assert f"{label}:" in body.replace("\xa0", "").replace(" :", ":")
            assert reason in body
            assert "/organisation/feedback" in body
            reference = db.session.scalar(
                select(Feedback.reference)
                .join(User, User.organization_id == Feedback.organization_id)
                .where(User.email == email)
            )
            assert reference in body
        assert _outbox(not_told) == []
        assert not any(_received(mail_catcher, email) for email in not_told)
        # The dashboard's reason is in the organisation's language: its oldest lead's.
        reasons = dict(
            db.session.execute(
                select(Feedback.id, Feedback.moderation_reason).where(Feedback.id.in_(ids))
            ).all()
        )
        assert reasons == {
            ids[0]: SPAM_COPIED["en"][1],
            ids[1]: SPAM_COPIED["es"][1],
            ids[2]: SPAM_COPIED["fr"][1],
            ids[3]: SPAM_COPIED["fr"][1],
        }


def test_a_chunk_run_again_mails_no_lead_twice(seeded, sent, monkeypatch):
    monkeypatch.setattr(campaigns, "CHUNK_SIZE", 2)
    with seeded.test_request_context():
        moderator = _user("moderator@example.org")
        ids = _make_campaign(4)
        leads = [_person(feedback_id, "es") for feedback_id in ids]
        action_id = _unsent(moderator, campaigns.REJECT_ALL, reason_code="duplicate", note="")
        # The first worker rejects one chunk, commits, then dies: its two leads are mailed.
        assert campaigns.run_bulk_action(action_id, max_chunks=1) is False
        assert sorted(n.to_email for n in _outbox(leads)) == sorted(leads[:2])
        db.session.execute(
            update(BulkAction)
            .where(BulkAction.id == action_id)
            .values(lease_until=utcnow() - timedelta(seconds=1))
        )
        db.session.commit()
        assert campaigns.reconcile_bulk_actions() == [action_id]
        assert campaigns.run_bulk_action(action_id) is True
        outbox = _outbox(leads)
        assert sorted(n.to_email for n in outbox) == sorted(leads)
        assert all("Motivo: Duplicado de otra aportación" in n.body_text for n in outbox)
        # Even a chunk that decides the same members again for the same action (its commit
        # replayed) queues nothing new: the messages are keyed on (action, submission, lead).
        db.session.execute(
            update(Feedback).where(Feedback.id.in_(ids)).values(state=FeedbackState.SUBMITTED)
        )
        db.session.execute(
            update(BulkAction).where(BulkAction.id == action_id).values(status=BulkStatus.QUEUED)
        )
        db.session.commit()
        assert campaigns.run_bulk_action(action_id) is True
        assert _states(ids) == {FeedbackState.REJECTED: 4}
        assert len(_outbox(leads)) == 4


@pytest.mark.parametrize("kind", [campaigns.PUBLISH_ALL, campaigns.PUBLISH_ONE])
def test_publishing_a_campaign_mails_no_one(seeded, kind):
    # Publishing mails nobody on the single path either; the members counted with the
    # representative read the reason on their dashboard.
    with seeded.test_request_context():
        moderator = _user("moderator@example.org")
        ids = _make_campaign(3)
        leads = [_person(feedback_id, "en") for feedback_id in ids]
        representative = ids[0] if kind == campaigns.PUBLISH_ONE else None
        action_id = _unsent(moderator, kind, representative_id=representative)
        assert campaigns.run_bulk_action(action_id) is True
        assert FeedbackState.SUBMITTED not in _states(ids)
        assert _outbox(leads) == []


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
    with seeded.app_context():
        item = db.session.scalar(select(Item).where(Item.code == "P1"))
        title = item.versions[-1].title["en"]
    row = listing.get_data(as_text=True).split(f'data-campaign="{KEY}"')[1].split("</tr>")[0]
    assert f"P1: {html_escape(title)}" in row  # the item by its title
    assert f">{KEY}<" not in row and f">{KEY}" not in row  # the key is no name for people
    page = client.get(f"/moderation/campaigns/{KEY}")
    html = page.get_data(as_text=True)
    assert f">{KEY}" not in html and f"{KEY}<" not in html
    assert page.status_code == 200
    assert SHARED in html
    seen = re.sub(r'<span class="govuk-visually-hidden">[^<]*</span>', "", html)
    assert "<del>every</del> <ins>each</ins>" in seen  # the seventh member's change, set apart
    assert html.count("data-member=") == campaign_groups.PAGE_SIZE
    second = client.get(f"/moderation/campaigns/{KEY}?after={ids[campaign_groups.PAGE_SIZE - 1]}")
    assert second.get_data(as_text=True).count("data-member=") == 60 - campaign_groups.PAGE_SIZE
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
        # Visitors and signed-in people without the role alike get 403.
        assert response.status_code == 403, url
        assert SHARED not in body and "data-member" not in body and "data-campaign" not in body
    # A valid CSRF token from a page the user may see: the refusal is the role check.
    token = hidden_fields(client.get("/").get_data(as_text=True)).get("csrf_token", "")
    posted = client.post(
        f"/moderation/campaigns/{KEY}/bulk", data={"kind": "publish_all", "csrf_token": token}
    )
    assert posted.status_code == 403
    with seeded.test_request_context():
        assert db.session.scalar(select(func.count()).select_from(BulkAction)) == 1
        if email:
            with pytest.raises(Forbidden):
                campaign_groups.campaign_groups(_user(email))
