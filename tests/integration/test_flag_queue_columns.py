"""A flag's copies of its submission's state and submission time, kept by database triggers,
and the flag-filtered queue that reads them: same rows, order and pages as reading feedback."""

from __future__ import annotations

import itertools
import shutil
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from flask import Flask
from sqlalchemy import exists, select, text, update

from app import create_app
from app.extensions import db
from app.models import Feedback, FeedbackState, Item, ModerationFlag, Organization, Role, User
from app.models.base import utcnow
from app.models.moderation import FlagKind
from app.moderation import campaign_membership, flagging
from app.moderation import queue as review_queue
from app.moderation import services as moderation
from app.moderation.queue import QueueFilter
from tests import factories
from tests.helpers.services import app_settings

_numbers = itertools.count(1)


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
    ]
)
def backend(request: pytest.FixtureRequest, tmp_path, migrated_sqlite) -> Iterator[Flask]:
    """An app context on a migrated database holding an open consultation and a moderator:
    SQLite or the run's PostgreSQL."""
    if request.param == "postgresql":
        application = request.getfixturevalue("unseeded")
        with application.app_context():
            factories.consultation()
            factories.staff(Role.MODERATOR)
            yield application
        return
    path = shutil.copy(migrated_sqlite, tmp_path / "flags.sqlite")
    application = create_app(app_settings(tmp_path, f"sqlite:///{path}", None, "flag-columns"))
    with application.app_context():
        factories.consultation()
        factories.staff(Role.MODERATOR)
        yield application
        db.session.remove()
        db.engine.dispose()


def moderator_id() -> int:
    return db.session.scalar(select(User.id).where(User.role == Role.MODERATOR))


def submission(
    *,
    state: FeedbackState = FeedbackState.SUBMITTED,
    submitted_at: datetime | None = None,
    language: str = "en",
    flag: FlagKind | None = FlagKind.LINKS,
) -> int:
    """A feedback of a new organisation, flagged with `flag`, committed; its id."""
    number = next(_numbers)
    item = db.session.scalar(select(Item).order_by(Item.id))
    organization = Organization(name=f"Flag copy organisation {number}", country="MX")
    db.session.add(organization)
    db.session.flush()
    feedback = Feedback(
        reference=f"FQC-{number}",
        item_id=item.id,
        item_version_id=item.versions[-1].id,
        organization_id=organization.id,
        state=state,
        comment=f"A position on the item, number {number}.",
        language=language,
        submitted_at=submitted_at or utcnow(),
    )
    db.session.add(feedback)
    db.session.flush()
    if flag is not None:
        db.session.add(ModerationFlag(feedback_id=feedback.id, kind=flag, detail=""))
    db.session.commit()
    return feedback.id


def copies(feedback_id: int) -> list[tuple[FeedbackState | None, datetime | None]]:
    """The (feedback_state, submitted_at) of each flag of the submission, as stored now."""
    db.session.expire_all()
    return [
        tuple(row)
        for row in db.session.execute(
            select(ModerationFlag.feedback_state, ModerationFlag.submitted_at)
            .where(ModerationFlag.feedback_id == feedback_id)
            .order_by(ModerationFlag.kind)
        )
    ]


def truth(feedback_id: int) -> tuple[FeedbackState, datetime | None]:
    db.session.expire_all()
    feedback = db.session.get(Feedback, feedback_id)
    return feedback.state, feedback.submitted_at


# --- the triggers ------------------------------------------------------------------------------


def test_a_new_flag_copies_its_submissions_state_and_time(backend):
    when = utcnow() - timedelta(days=3)
    feedback_id = submission(submitted_at=when)
    assert copies(feedback_id) == [(FeedbackState.SUBMITTED, when)]


def test_a_decision_made_through_the_orm_moves_the_copies(backend):
    feedback_id = submission()
    feedback = db.session.get(Feedback, feedback_id)
    feedback.state = FeedbackState.REJECTED
    db.session.commit()
    assert copies(feedback_id) == [truth(feedback_id)]
    assert copies(feedback_id)[0][0] is FeedbackState.REJECTED


def test_a_decision_made_by_the_moderation_service_moves_the_copies(backend):
    feedback_id = submission()
    feedback = db.session.get(Feedback, feedback_id)
    moderation.publish_feedback(
        moderator_id(),
        feedback_id,
        feedback.lock_version,
        flags_seen=True,  # its review page
    )
    db.session.commit()
    assert copies(feedback_id) == [(FeedbackState.PUBLISHED, truth(feedback_id)[1])]


def test_a_bulk_update_statement_moves_the_copies_of_every_row(backend):
    ids = [submission() for _ in range(3)]
    db.session.execute(
        update(Feedback).where(Feedback.id.in_(ids)).values(state=FeedbackState.REJECTED),
        execution_options={"synchronize_session": False},
    )
    db.session.commit()
    for feedback_id in ids:
        assert copies(feedback_id) == [(FeedbackState.REJECTED, truth(feedback_id)[1])]


def test_a_resubmission_moves_the_copied_submission_time(backend):
    feedback_id = submission(submitted_at=utcnow() - timedelta(days=5))
    later = utcnow()
    db.session.execute(
        update(Feedback).where(Feedback.id == feedback_id).values(submitted_at=later)
    )
    db.session.commit()
    assert copies(feedback_id) == [(FeedbackState.SUBMITTED, later)]


def test_a_flag_written_after_the_decision_gets_the_current_state(backend):
    feedback_id = submission(flag=None)
    db.session.execute(
        update(Feedback).where(Feedback.id == feedback_id).values(state=FeedbackState.REJECTED)
    )
    db.session.commit()
    db.session.add(ModerationFlag(feedback_id=feedback_id, kind=FlagKind.PROFANITY, detail=""))
    # The campaign path writes with INSERT ... ON CONFLICT DO NOTHING.
    db.session.execute(
        campaign_membership.insert_ignoring_duplicates(
            [{"feedback_id": feedback_id, "kind": FlagKind.CAMPAIGN, "detail": ""}]
        )
    )
    db.session.commit()
    assert copies(feedback_id) == [truth(feedback_id)] * 2
    assert truth(feedback_id)[0] is FeedbackState.REJECTED


def test_the_worker_service_writes_flags_with_the_current_state(backend):
    feedback_id = submission(flag=None)
    db.session.execute(
        update(Feedback).where(Feedback.id == feedback_id).values(state=FeedbackState.PUBLISHED)
    )
    db.session.commit()
    flagging.flag_feedback(feedback_id)  # a new organisation: at least "not verified"
    stored = copies(feedback_id)
    assert stored
    assert set(stored) == {truth(feedback_id)}


def test_a_direct_write_to_the_copies_is_put_right(backend):
    feedback_id = submission()
    db.session.execute(
        text("UPDATE moderation_flags SET feedback_state = 'draft', submitted_at = NULL")
    )
    db.session.commit()
    assert copies(feedback_id) == [truth(feedback_id)]


# --- the flag-filtered queue --------------------------------------------------------------------


def reference_ids(filt: QueueFilter) -> list[int]:
    """The queue as it was read before the copies: feedback in order, EXISTS a flag."""
    query = select(Feedback.id).where(
        Feedback.state == filt.state,
        Feedback.submitted_at.is_not(None),
        exists().where(ModerationFlag.feedback_id == Feedback.id, ModerationFlag.kind == filt.flag),
    )
    if filt.language is not None:
        query = query.where(Feedback.language == filt.language)
    if filt.order == "newest":
        query = query.order_by(Feedback.submitted_at.desc(), Feedback.id.desc())
    else:
        query = query.order_by(Feedback.submitted_at, Feedback.id)
    return list(db.session.scalars(query))


def paged_ids(filt: QueueFilter, size: int = 3) -> list[int]:
    """Every entry of the queue, read `size` at a time through the keyset cursor."""
    seen, after = [], None
    while True:
        batch = review_queue.page(moderator_id(), filt, after=after, limit=size)
        seen += [entry.id for entry in batch]
        if len(batch) < size:
            return seen
        after = (batch[-1].submitted_at, batch[-1].id)


@pytest.fixture
def flagged_queue(backend) -> list[int]:
    """Flagged and unflagged submissions in several states, some submitted at the same instant."""
    start = utcnow() - timedelta(days=2)
    ids = []
    for n in range(14):
        ids.append(
            submission(
                state=(FeedbackState.SUBMITTED, FeedbackState.REJECTED)[n % 4 == 3],
                submitted_at=start + timedelta(minutes=n // 3),  # ties of three
                language=("es", "fr")[n % 2],
                flag=(FlagKind.LINKS, None, FlagKind.PERSONAL_DATA)[n % 3],
            )
        )
    return ids


@pytest.mark.parametrize("order", ["oldest", "newest"])
@pytest.mark.parametrize("kind", [FlagKind.LINKS, FlagKind.PERSONAL_DATA, FlagKind.PROFANITY])
def test_the_flag_filtered_queue_pages_like_the_feedback_driven_one(flagged_queue, kind, order):
    for state in (FeedbackState.SUBMITTED, FeedbackState.REJECTED):
        for language in (None, "es"):
            filt = QueueFilter(state=state, flag=kind, language=language, order=order)
            expected = reference_ids(filt)
            assert paged_ids(filt) == expected
            assert [e.id for e in review_queue.page(moderator_id(), filt, limit=100)] == expected


def test_a_decision_moves_a_flagged_row_from_one_queue_to_the_other(flagged_queue):
    submitted = QueueFilter(flag=FlagKind.LINKS)
    rejected = QueueFilter(flag=FlagKind.LINKS, state=FeedbackState.REJECTED)
    first = paged_ids(submitted)[0]
    db.session.execute(
        update(Feedback).where(Feedback.id == first).values(state=FeedbackState.REJECTED)
    )
    db.session.commit()
    assert first not in paged_ids(submitted)
    assert first in paged_ids(rejected)
    assert paged_ids(submitted) == reference_ids(submitted)
    assert paged_ids(rejected) == reference_ids(rejected)


def test_counts_with_a_flag_filter_match_the_feedback_driven_queue(flagged_queue):
    filt = QueueFilter(flag=FlagKind.LINKS)
    counts = review_queue.counts(moderator_id(), filt)
    for state in (FeedbackState.SUBMITTED, FeedbackState.REJECTED):
        expected = len(reference_ids(QueueFilter(state=state, flag=FlagKind.LINKS)))
        assert counts.by_state[state.value] == expected
    for kind in FlagKind:
        assert counts.by_flag[kind.value] == len(reference_ids(QueueFilter(flag=kind)))


@pytest.mark.postgres
def test_the_flag_filtered_queue_reads_the_flag_index_in_order(app):
    with app.app_context():
        factories.consultation()
        for _ in range(3):
            submission()
        query = review_queue.keyset(
            review_queue.filtered(QueueFilter(flag=FlagKind.LINKS), Feedback.id), None, "newest"
        ).limit(50)
        sql = str(query.compile(db.engine, compile_kwargs={"literal_binds": True}))
        # A few rows would be read by a sequential scan: ask for the plan of a big table.
        db.session.execute(text("SET LOCAL enable_seqscan = off"))
        plan = "\n".join(row[0] for row in db.session.execute(text("EXPLAIN " + sql)))
        db.session.rollback()
    assert "Index Only Scan Backward using ix_moderation_flags_queue" in plan or (
        "Index Scan Backward using ix_moderation_flags_queue" in plan
    ), plan
    assert "Sort" not in plan, plan
