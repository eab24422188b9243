"""Automatic flags written by the flagging service and by a real worker."""

from __future__ import annotations

import itertools

import pytest
from sqlalchemy import func, select

from app.analysis.near_duplicates import BANDS
from app.extensions import db
from app.models import (
    Disclosure,
    Feedback,
    FeedbackFingerprint,
    FeedbackState,
    FlagKind,
    Item,
    ModerationFlag,
    Organization,
    VerificationState,
)
from app.models.base import utcnow
from app.moderation import campaign_membership, flagging
from app.vocabulary import flag_reason
from tests.helpers.waiting import wait_for

pytestmark = [pytest.mark.postgres]

_numbers = itertools.count(1)
CAMPAIGN = (
    "We call on the governments of the region to expand regular pathways for migrant workers, "
    "guarantee access to asylum at every border crossing, end the detention of children and "
    "families, and fund the local organisations that receive returnees in their communities."
)


def submit(item: Item, comment: str, *, verified: bool = True, **fields) -> int:
    """A submitted feedback from a new organisation; its id."""
    number = next(_numbers)
    organization = Organization(
        name=f"Flag test organisation {number}",
        country="MX",
        verification=VerificationState.VERIFIED if verified else VerificationState.PENDING,
    )
    db.session.add(organization)
    db.session.flush()
    feedback = Feedback(
        reference=f"FLAG-{number}",
        item_id=item.id,
        item_version_id=item.versions[-1].id,
        organization_id=organization.id,
        state=FeedbackState.SUBMITTED,
        comment=comment,
        submitted_at=utcnow(),
        **fields,
    )
    db.session.add(feedback)
    db.session.commit()
    return feedback.id


def kinds(feedback_id: int) -> dict[FlagKind, ModerationFlag]:
    return {flag.kind: flag for flag in flagging.flags_for([feedback_id])[feedback_id]}


def reason(flag: ModerationFlag) -> str:
    """The flag's reason as an English-reading moderator sees it."""
    return flag_reason(flag.detail)


@pytest.fixture
def item(seeded):
    with seeded.app_context():
        yield db.session.scalars(select(Item).order_by(Item.id)).first()


def test_personal_data_in_a_public_comment_is_flagged_with_a_masked_reason(item):
    comment = "Contact our lawyer at ana.perez@example.org or +52 55 1234 5678 for the cases."
    feedback_id = submit(item, comment)
    flagging.flag_feedback(feedback_id)
    flag = kinds(feedback_id)[FlagKind.PERSONAL_DATA]
    assert "a…@example.org" in reason(flag) and "…78" in reason(flag)
    assert "ana.perez" not in flag.detail


def test_the_same_text_in_a_council_only_comment_is_not_flagged_for_personal_data(item):
    comment = "Contact our lawyer at ana.perez@example.org, see https://example.org, merde."
    feedback_id = submit(item, comment, comment_disclosure=Disclosure.COUNCIL_ONLY)
    flagging.flag_feedback(feedback_id)
    assert not {FlagKind.PERSONAL_DATA, FlagKind.LINKS, FlagKind.PROFANITY} & set(
        kinds(feedback_id)
    )


def test_links_profanity_and_a_short_comment_are_flagged(item):
    feedback_id = submit(item, "Merde! www.spam.example", amendment="")
    flagging.flag_feedback(feedback_id)
    flags = kinds(feedback_id)
    assert "spam.example" in reason(flags[FlagKind.LINKS])
    assert "m****" in reason(flags[FlagKind.PROFANITY])
    assert "very short" in reason(flags[FlagKind.SHORT_TEXT])


def test_feedback_of_an_unverified_organisation_is_flagged(item):
    unverified = submit(item, CAMPAIGN.replace("region", "continent"), verified=False)
    verified = submit(item, "A considered comment on regular pathways for workers.")
    flagging.flag_feedback(unverified)
    flagging.flag_feedback(verified)
    assert "not verified" in reason(kinds(unverified)[FlagKind.UNVERIFIED_ORGANIZATION])
    assert kinds(verified) == {}


def test_a_campaign_of_thirty_near_identical_comments_gets_one_key_and_its_size(item):
    ids = [submit(item, CAMPAIGN + f" Signed, member {n}.") for n in range(30)]
    for feedback_id in ids:
        flagging.flag_feedback(feedback_id)
    campaign = [kinds(feedback_id)[FlagKind.CAMPAIGN] for feedback_id in ids]
    assert {flag.campaign_key for flag in campaign} == {str(min(ids))}
    assert all("campaign of 30 " in reason(flag) for flag in campaign)
    assert campaign_membership.campaign_sizes([str(min(ids))]) == {str(min(ids)): 30}


def test_flagging_twice_gives_the_same_flags_and_fingerprints(item):
    first, second = (submit(item, CAMPAIGN + " Call 55 1234 5678") for _ in range(2))
    for feedback_id in (first, second, second, first):
        flagging.flag_feedback(feedback_id)
    flags = kinds(second)
    assert set(flags) == {FlagKind.PERSONAL_DATA, FlagKind.CAMPAIGN}
    assert flags[FlagKind.CAMPAIGN].campaign_key == str(first)
    assert "campaign of 2 " in reason(flags[FlagKind.CAMPAIGN])
    count = db.session.scalar(select(func.count()).select_from(FeedbackFingerprint))
    assert count == 2 * (BANDS + 1)  # its bands plus the sentinel each


def test_the_reconciler_resends_only_unflagged_submissions(item):
    flagged, unflagged = submit(item, CAMPAIGN), submit(item, CAMPAIGN)
    flagging.flag_feedback(flagged)
    db.session.execute(
        Feedback.__table__.update().values(submitted_at=utcnow() - flagging.RECONCILE_AFTER * 2)
    )
    db.session.commit()
    due = flagging.reconcile_flagging()
    assert unflagged in due and flagged not in due
    # An edit after flagging (a new lock version) makes it due again.
    db.session.get(Feedback, flagged).comment = CAMPAIGN + " Edited."
    db.session.commit()
    assert flagged in flagging.reconcile_flagging()


@pytest.mark.worker
@pytest.mark.redis
def test_a_real_worker_flags_a_submission_after_the_commit(seeded, celery_worker):
    with seeded.test_request_context():
        item = db.session.scalars(select(Item).order_by(Item.id)).first()
        feedback_id = submit(item, "Bad: www.spam.example")
        flagging.enqueue_flagging(feedback_id)
        db.session.commit()

        def flagged() -> set[FlagKind]:
            db.session.expire_all()
            found = set(kinds(feedback_id))
            db.session.rollback()
            return found

        assert wait_for(flagged, timeout=30) == {FlagKind.LINKS, FlagKind.SHORT_TEXT}
