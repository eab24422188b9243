"""Campaigns in the database: a candidate joins only when it is the same letter, a submission
bridging two campaigns merges them (lowest key, members, links and bulk decisions follow), and
two worker processes flagging the same texts in different orders find the same groups."""

from __future__ import annotations

import random
import re
import time
from collections import defaultdict

import pytest
from flask import Flask
from sqlalchemy import func, select

from app import create_app
from app.analysis import campaigns as letters_graph
from app.dev import letters
from app.extensions import db
from app.models import (
    BulkAction,
    BulkStatus,
    CampaignMerge,
    Feedback,
    FeedbackState,
    FlagCheck,
    FlagKind,
    Item,
    ModerationFlag,
    Role,
)
from app.models.base import utcnow
from app.models.feedback import COUNTED_CODE
from app.moderation import campaign_membership, flagging
from app.moderation.flagging import FLAG_PENDING_TASK
from tests import factories
from tests.helpers.feedback import submitted_position
from tests.helpers.letters import LETTER_A, LETTER_B, QUOTE
from tests.helpers.services import app_settings
from tests.helpers.waiting import wait_for
from tests.helpers.worker import start_worker_for

pytestmark = [pytest.mark.postgres]


def campaign_keys(ids: list[int]) -> dict[int, str | None]:
    rows = dict(
        db.session.execute(
            select(ModerationFlag.feedback_id, ModerationFlag.campaign_key).where(
                ModerationFlag.feedback_id.in_(ids), ModerationFlag.kind == FlagKind.CAMPAIGN
            )
        ).all()
    )
    return {feedback_id: rows.get(feedback_id) for feedback_id in ids}


def queued_decision(key: int, kind: str = "reject_all") -> BulkAction:
    """A moderator's bulk decision on campaign `key`, queued (no worker runs it here)."""
    action = BulkAction(
        kind=kind,
        campaign_key=str(key),
        reason_code="spam" if kind == "reject_all" else None,
        requested_by_id=factories.staff(Role.MODERATOR).id,
        status=BulkStatus.QUEUED,
        total=3,
    )
    db.session.add(action)
    db.session.commit()
    return action


@pytest.fixture
def item(seeded):
    with seeded.app_context():
        item = db.session.scalars(select(Item).order_by(Item.id)).first()
        yield item.id, item.versions[-1].id


def test_letters_that_only_share_a_quote_are_not_one_campaign(item):
    first = submitted_position(*item, f"{LETTER_A} {QUOTE}")
    second = submitted_position(*item, f"{LETTER_B} {QUOTE}")
    for feedback_id in (first, second):
        flagging.flag_feedback(feedback_id)
    assert campaign_keys([first, second]) == {first: None, second: None}


def test_a_bridging_submission_merges_two_campaigns_and_everything_follows(seeded, item, login):
    a = [submitted_position(*item, LETTER_A + f" Signed by member {n}.") for n in range(3)]
    b = [submitted_position(*item, LETTER_B + f" Signed by member {n}.") for n in range(3)]
    for feedback_id in a + b:
        flagging.flag_feedback(feedback_id)
    assert set(campaign_keys(a).values()) == {str(a[0])}
    assert set(campaign_keys(b).values()) == {str(b[0])}
    action = queued_decision(b[0])

    bridge = submitted_position(*item, f"{LETTER_A}\n\n{LETTER_B}")  # both letters, sent as one
    flagging.flag_feedback(bridge)

    assert set(campaign_keys([*a, *b, bridge]).values()) == {str(a[0])}
    assert campaign_membership.campaign_sizes([str(a[0]), str(b[0])]) == {str(a[0]): 7}
    details = db.session.scalars(
        select(ModerationFlag.detail).where(ModerationFlag.campaign_key == str(a[0]))
    ).all()
    assert all('"size": 7' in detail for detail in details)
    assert db.session.get(CampaignMerge, str(b[0])).merged_into == str(a[0])
    db.session.refresh(action)  # asked for B's members only: it stops, to be asked again
    assert action.campaign_key == str(b[0]) and action.status is BulkStatus.FAILED
    assert f"merged into {a[0]}" in action.error

    moderator = factories.staff(Role.MODERATOR)
    client = seeded.test_client()
    login(client, moderator.email)
    moved = client.get(f"/moderation/campaigns/{b[0]}")
    assert moved.status_code == 302
    assert moved.headers["Location"].endswith(f"/moderation/campaigns/{a[0]}")
    assert client.get(f"/moderation/campaigns/{b[0] + 10_000_000}").status_code == 404


def test_the_surviving_campaigns_bulk_decision_goes_on_after_a_merge(item):
    a = [submitted_position(*item, LETTER_A + f" From {n}.") for n in range(2)]
    b = [submitted_position(*item, LETTER_B + f" From {n}.") for n in range(2)]
    for feedback_id in a + b:
        flagging.flag_feedback(feedback_id)
    for key in (a[0], b[0]):
        queued_decision(key, "publish_all")
    flagging.flag_feedback(submitted_position(*item, f"{LETTER_B}\n\n{LETTER_A}"))
    actions = db.session.execute(
        select(BulkAction.campaign_key, BulkAction.status, BulkAction.error).order_by(BulkAction.id)
    ).all()
    survivor, absorbed = actions
    assert survivor == (str(a[0]), BulkStatus.QUEUED, None)
    assert absorbed.campaign_key == str(b[0]) and absorbed.status is BulkStatus.FAILED


def test_a_submission_naming_a_campaign_leaves_it_for_another_letter(item):
    a = [submitted_position(*item, LETTER_A + f" From {n}.") for n in range(3)]
    b = [submitted_position(*item, LETTER_B + f" From {n}.") for n in range(2)]
    for feedback_id in a + b:
        flagging.flag_feedback(feedback_id)
    assert set(campaign_keys(a).values()) == {str(a[0])}
    action = queued_decision(a[0])

    edited = db.session.get(Feedback, a[0])
    edited.comment = LETTER_B + " Rewritten."  # now the other letter
    db.session.commit()
    flagging.flag_feedback(a[0])

    # B keeps its key; A's members are named after the smallest id still among them.
    assert campaign_keys([a[0], *b]) == dict.fromkeys([a[0], *b], str(b[0]))
    assert campaign_keys(a[1:]) == dict.fromkeys(a[1:], str(a[1]))
    assert db.session.get(CampaignMerge, str(a[0])).merged_into == str(a[1])
    db.session.refresh(action)  # the same members under a new name: the decision follows
    assert action.campaign_key == str(a[1]) and action.status is BulkStatus.QUEUED


def test_members_counted_under_a_representative_stay_in_its_campaign(item):
    ids = [submitted_position(*item, LETTER_A + f" From {n}.") for n in range(3)]
    for feedback_id in ids:
        flagging.flag_feedback(feedback_id)
    representative, *counted = (db.session.get(Feedback, i) for i in ids)
    representative.state = FeedbackState.PUBLISHED
    for member in counted:
        member.state, member.moderation_code = FeedbackState.REJECTED, COUNTED_CODE
    db.session.commit()
    flagging.flag_feedback(representative.id)  # flagged again, as migration 0012 does
    assert set(campaign_keys(ids).values()) == {str(ids[0])}


# --- the order property, through real worker processes ---------------------------------------


def _groups(item_id: int) -> set[frozenset[str]]:
    """The item's campaigns as sets of their members' texts."""
    members: dict[str, set[str]] = defaultdict(set)
    rows = db.session.execute(
        select(ModerationFlag.campaign_key, Feedback.comment)
        .join(Feedback, Feedback.id == ModerationFlag.feedback_id)
        .where(Feedback.item_id == item_id, ModerationFlag.kind == FlagKind.CAMPAIGN)
    )
    for key, comment in rows:
        members[key].add(comment)
    return {frozenset(texts) for texts in members.values()}


@pytest.mark.worker
def test_two_workers_find_the_same_groups_whatever_the_order(seeded, tmp_path, redis_url):
    written = letters.corpus(letters=12, members=(1, 2), distinct=30, seed=11)
    corpus = [t.text for t in written]
    # First each letter's members one after the other, so that the two workers flag copies of
    # one letter at the same moment; then the same texts shuffled.
    grouped = [t.text for t in sorted(written, key=lambda t: (t.label or "~", t.id))]
    shuffled = corpus[:]
    random.Random(4).shuffle(shuffled)
    settings = seeded.config["SETTINGS"]
    app: Flask = create_app(
        app_settings(tmp_path / "app", settings.database_url, redis_url, f"order-{time.time_ns()}")
    )
    with app.app_context():
        items = db.session.scalars(select(Item).order_by(Item.id).limit(2)).all()
        targets = [(item.id, item.versions[-1].id) for item in items]
        for (item_id, version_id), texts in zip(targets, (grouped, shuffled), strict=True):
            for text in texts:
                feedback_id = submitted_position(item_id, version_id, text)
                db.session.add(FlagCheck(feedback_id=feedback_id, queued_at=utcnow()))
            db.session.commit()
    workers = [
        start_worker_for(
            app,
            tmp_path / f"worker-{n}.log",
            "--prefetch-multiplier=1",
            CONSULTA_FLAG_BATCH_SIZE="1",
        )
        for n in range(2)
    ]
    try:
        for _wake_up in range(4):  # more than one worker holds at once: both take batches
            app.extensions["celery"].send_task(FLAG_PENDING_TASK)

        def checked() -> bool:
            with app.app_context():
                return db.session.scalar(select(func.count()).select_from(FlagCheck)) == 0

        wait_for(checked, timeout=120, interval=0.3)
    finally:
        for worker in workers:
            worker.stop()
    for n in range(2):  # each worker flagged some of them (the task returns how many)
        log = (tmp_path / f"worker-{n}.log").read_text()
        flagged = re.findall(r"flag_pending\[[^\]]+\] succeeded in [\d.]+s: (\d+)", log)
        assert sum(map(int, flagged)) > 0, log[-2000:]
    expected = {
        frozenset(corpus[i - 1] for i, key in found.items() if key == root)
        for found in [letters_graph.group(dict(enumerate(corpus, start=1)))]
        for root in set(found.values())
    }
    with app.app_context():
        first, second = (_groups(item_id) for item_id, _version in targets)
    assert len(expected) >= 4
    assert first == second == expected
