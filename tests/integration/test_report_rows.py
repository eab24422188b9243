"""The rows a report reads: which submissions, and what text each version may show."""

from __future__ import annotations

import itertools

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import (
    Attribution,
    CosignState,
    Disclosure,
    Feedback,
    FeedbackCosigner,
    FeedbackState,
    FlagKind,
    Item,
    ModerationFlag,
    Organization,
    VerificationState,
)
from app.models.base import utcnow
from app.models.moderation import Redaction
from app.reports.rows import Scope, stream

_numbers = itertools.count(1)


def organisation(verified: bool = True) -> Organization:
    number = next(_numbers)
    found = Organization(
        name=f"Report rows organisation {number}",
        country="GT",
        verification=VerificationState.VERIFIED if verified else VerificationState.PENDING,
    )
    db.session.add(found)
    db.session.flush()
    return found


def position(item: Item, state: FeedbackState, comment: str, **fields) -> Feedback:
    number = next(_numbers)
    feedback = Feedback(
        reference=f"ROWS-{number}",
        item_id=item.id,
        item_version_id=item.versions[-1].id,
        organization_id=fields.pop("organization_id", None) or organisation().id,
        state=state,
        comment=comment,
        stance=fields.pop("stance", "support"),
        priority=4,
        affected_populations=["refugees"],
        submitted_at=utcnow(),
        **fields,
    )
    db.session.add(feedback)
    db.session.flush()
    return feedback


@pytest.fixture
def corpus(seeded):
    """An isolated item with one submission in each situation a report must tell apart."""
    with seeded.app_context():
        db.session.execute(db.delete(Feedback))
        item = db.session.scalar(select(Item).where(Item.code == "TF-RC-2"))
        made = {
            "published": position(
                item,
                FeedbackState.PUBLISHED,
                "Call Ana on 555-0100 about the shelters.",
                amendment="Council eyes only.",
                amendment_disclosure=Disclosure.COUNCIL_ONLY,
            ),
            "anonymous": position(
                item,
                FeedbackState.PUBLISHED,
                "We prefer not to be named.",
                attribution=Attribution.ANONYMOUS,
                organization_id=organisation(verified=False).id,
            ),
            "submitted": position(item, FeedbackState.SUBMITTED, "Awaiting review."),
            "counted": position(
                item,
                FeedbackState.REJECTED,
                "Same as the campaign text.",
                moderation_code="campaign_counted",
            ),
            "rejected": position(item, FeedbackState.REJECTED, "Spam.", moderation_code="spam"),
            "draft": position(item, FeedbackState.DRAFT, "Not put forward."),
        }
        published = made["published"]
        db.session.add(
            Redaction(feedback_id=published.id, field="comment", start=5, end=20, reason="phone")
        )
        cosigner = organisation()
        db.session.add(
            FeedbackCosigner(
                feedback_id=published.id,
                organization_id=cosigner.id,
                state=CosignState.ACCEPTED,
            )
        )
        db.session.add(
            ModerationFlag(
                feedback_id=made["counted"].id,
                kind=FlagKind.CAMPAIGN,
                detail="",
                campaign_key="c0ffee",
            )
        )
        db.session.commit()
        ids = {name: feedback.id for name, feedback in made.items()}
        return {
            "item": item.id,
            "consultation": item.consultation_id,
            "cosigner": cosigner.id,
            **ids,
        }


def rows(app, **scope) -> dict[int, object]:
    with app.app_context():
        return {row.id: row for row in stream(Scope(**scope), batch=2)}


def test_the_council_version_covers_positions_put_forward_and_counted_members(seeded, corpus):
    found = rows(seeded, consultation_id=corpus["consultation"], item_id=corpus["item"])
    expected = {corpus[name] for name in ("published", "anonymous", "submitted", "counted")}
    assert set(found) == expected
    published = found[corpus["published"]]
    assert published.comment.startswith("Call Ana on 555-0100")  # originals for the council
    assert published.amendment == "Council eyes only."
    assert published.cosigners == (corpus["cosigner"],)
    assert published.item_code == "TF-RC-2" and published.populations == ("refugees",)
    assert found[corpus["counted"]].campaign_key == "c0ffee"
    assert found[corpus["anonymous"]].verified is False
    assert found[corpus["anonymous"]].organization_name.startswith("Report rows")


def test_the_public_version_leaves_out_what_the_public_may_not_read(seeded, corpus):
    found = rows(
        seeded, consultation_id=corpus["consultation"], item_id=corpus["item"], public=True
    )
    assert set(found) == {corpus["published"], corpus["anonymous"], corpus["counted"]}
    published = found[corpus["published"]]
    assert published.comment == "Call [redacted] about the shelters."
    assert published.amendment == ""
    anonymous = found[corpus["anonymous"]]
    assert anonymous.organization_name == "" and anonymous.country is None
    assert anonymous.organization_type == "unknown" and anonymous.cosigners == ()
    assert found[corpus["counted"]].comment == ""  # counted, never published itself


def test_a_whole_consultation_streams_every_item(seeded, corpus):
    found = list(rows(seeded, consultation_id=corpus["consultation"]).values())
    assert len(found) == 4
    assert all(row.submitted_at.tzinfo is not None for row in found)
