"""The published tallies the database keeps: after every kind of write to positions and their
co-signatures they equal a fresh count of the rows, on SQLite and PostgreSQL; the public tally
reads them and not the feedback."""

from __future__ import annotations

import itertools
import shutil
from collections.abc import Iterator

import pytest
from flask import Flask
from sqlalchemy import delete, event, func, select, update

from app import create_app
from app.consultations import services as consultations
from app.extensions import db
from app.models import (
    CosignState,
    Feedback,
    FeedbackCosigner,
    FeedbackState,
    Item,
    Organization,
    PublishedTally,
    Role,
    Stance,
    User,
)
from app.models.base import utcnow
from app.moderation import services as moderation
from tests import factories
from tests.helpers.services import app_settings

_numbers = itertools.count(1)
PUBLISHED = FeedbackState.PUBLISHED


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
    ]
)
def backend(request: pytest.FixtureRequest, tmp_path, migrated_sqlite) -> Iterator[Flask]:
    """An app context on a migrated database with an open consultation of two items and a
    moderator: SQLite or the run's PostgreSQL."""
    if request.param == "postgresql":
        application = request.getfixturevalue("unseeded")
        with application.app_context():
            factories.consultation(codes=("A1", "A2"))
            factories.staff(Role.MODERATOR)
            yield application
        return
    path = shutil.copy(migrated_sqlite, tmp_path / "tallies.sqlite")
    application = create_app(app_settings(tmp_path, f"sqlite:///{path}", None, "tallies"))
    with application.app_context():
        factories.consultation(codes=("A1", "A2"))
        factories.staff(Role.MODERATOR)
        yield application
        db.session.remove()
        db.engine.dispose()


def item_ids() -> list[int]:
    return list(db.session.scalars(select(Item.id).order_by(Item.id)))


def positions(
    count: int,
    *,
    item: int | None = None,
    state: FeedbackState = FeedbackState.SUBMITTED,
    stances: tuple[Stance | None, ...] = (Stance.SUPPORT, Stance.OPPOSE, None),
    priorities: tuple[int | None, ...] = (1, 3, None),
) -> list[int]:
    """`count` positions of new organisations in `state`, stances and priorities in turn, added
    in one INSERT statement and committed; their ids."""
    item = item or item_ids()[0]
    version_id = db.session.get(Item, item).versions[-1].id
    organizations = [
        Organization(name=f"Tally organisation {next(_numbers)}", country="MX")
        for _ in range(count)
    ]
    db.session.add_all(organizations)
    db.session.flush()
    now = utcnow()
    rows = [
        Feedback(
            reference=f"TLY-{next(_numbers)}",
            item_id=item,
            item_version_id=version_id,
            organization_id=organization.id,
            state=state,
            stance=stances[index % len(stances)],
            priority=priorities[index % len(priorities)],
            comment="A position.",
            submitted_at=now,
            published_at=now if state is PUBLISHED else None,
        )
        for index, organization in enumerate(organizations)
    ]
    db.session.add_all(rows)
    db.session.commit()
    return [row.id for row in rows]


def cosign(feedback_id: int, count: int, state: CosignState = CosignState.ACCEPTED) -> list[int]:
    organizations = [
        Organization(name=f"Co-signer {next(_numbers)}", country="MX") for _ in range(count)
    ]
    db.session.add_all(organizations)
    db.session.flush()
    rows = [
        FeedbackCosigner(feedback_id=feedback_id, organization_id=organization.id, state=state)
        for organization in organizations
    ]
    db.session.add_all(rows)
    db.session.commit()
    return [row.id for row in rows]


def set_state(ids: list[int], state: FeedbackState) -> None:
    """One UPDATE statement for every row, as bulk moderation writes."""
    db.session.execute(
        update(Feedback)
        .where(Feedback.id.in_(ids))
        .values(state=state, published_at=utcnow() if state is PUBLISHED else None),
        execution_options={"synchronize_session": False},
    )
    db.session.commit()


def stored() -> dict[tuple[int, str, int], tuple[int, int]]:
    """The tally rows as stored, leaving out rows counted down to nothing."""
    db.session.expire_all()
    return {
        (row.item_id, row.stance, row.priority): (row.positions, row.cosignatures)
        for row in db.session.scalars(select(PublishedTally))
        if row.positions or row.cosignatures
    }


def recounted() -> dict[tuple[int, str, int], tuple[int, int]]:
    """The same counts from the rows, with a fresh GROUP BY."""
    accepted = (
        select(FeedbackCosigner.feedback_id, func.count().label("n"))
        .where(FeedbackCosigner.state == CosignState.ACCEPTED)
        .group_by(FeedbackCosigner.feedback_id)
        .subquery()
    )
    rows = db.session.execute(
        select(Feedback.item_id, Feedback.stance, Feedback.priority, accepted.c.n)
        .outerjoin(accepted, accepted.c.feedback_id == Feedback.id)
        .where(Feedback.state == PUBLISHED)
    )
    counts: dict[tuple[int, str, int], tuple[int, int]] = {}
    for item_id, stance, priority, cosignatures in rows:
        key = (item_id, stance.value if stance else "", priority or 0)
        have = counts.get(key, (0, 0))
        counts[key] = (have[0] + 1, have[1] + (cosignatures or 0))
    return counts


def assert_counts_match() -> None:
    assert stored() == recounted()
    for item_id in item_ids():
        assert consultations.published_tally(item_id) == consultations.organization_tally(
            item_id, (PUBLISHED,)
        )


def test_counts_follow_every_write_to_positions_and_co_signatures(backend):
    first, second = item_ids()
    assert stored() == {}

    published = positions(6, state=PUBLISHED)  # inserted as published
    assert_counts_match()
    assert consultations.published_positions(first) == 6

    submitted = positions(5, item=second)
    assert_counts_match()
    assert stored() == recounted() and consultations.published_positions(second) == 0

    # Published one at a time through the moderation service, as a moderator does.
    moderator = db.session.scalar(select(User.id).where(User.role == Role.MODERATOR))
    for feedback_id in submitted[:2]:
        moderation.publish_feedback(
            moderator, feedback_id, db.session.get(Feedback, feedback_id).lock_version
        )
        db.session.commit()
        assert_counts_match()
    assert consultations.published_positions(second) == 2

    cosigners = cosign(published[0], 3)  # accepted at once
    invited = cosign(published[1], 2, CosignState.INVITED)
    cosign(submitted[4], 2)  # on a position not published: not counted
    assert_counts_match()
    assert consultations.published_tally(first).total == 6 + 3

    db.session.execute(  # the invitations accepted
        update(FeedbackCosigner)
        .where(FeedbackCosigner.id.in_(invited))
        .values(state=CosignState.ACCEPTED)
    )
    db.session.commit()
    assert_counts_match()

    db.session.execute(  # one co-signature withdrawn, one deleted
        update(FeedbackCosigner)
        .where(FeedbackCosigner.id == cosigners[0])
        .values(state=CosignState.DECLINED)
    )
    db.session.execute(delete(FeedbackCosigner).where(FeedbackCosigner.id == cosigners[1]))
    db.session.commit()
    assert_counts_match()
    assert consultations.published_tally(first).total == 6 + 1 + 2

    set_state([published[0]], FeedbackState.WITHDRAWN)  # withdrawn with its co-signature
    assert_counts_match()
    set_state([published[1]], FeedbackState.REJECTED)  # rejected after publication
    assert_counts_match()
    assert consultations.published_tally(first).total == 4

    # A published position's stance and priority corrected, and one moved to another item.
    db.session.execute(
        update(Feedback)
        .where(Feedback.id == published[2])
        .values(stance=Stance.NEUTRAL, priority=5, item_id=second)
    )
    db.session.commit()
    assert_counts_match()

    set_state(submitted[2:4], PUBLISHED)
    db.session.execute(delete(Feedback).where(Feedback.id.in_([published[3], submitted[2]])))
    db.session.commit()
    assert_counts_match()

    set_state([published[1]], PUBLISHED)  # published again, its two co-signatures with it
    assert_counts_match()
    assert consultations.published_tally(first).stances["oppose"] == 2 + 2


def test_a_bulk_publication_is_counted_once_per_stance_and_priority(backend):
    ids = positions(400)
    cosign(ids[0], 2)
    set_state(ids, PUBLISHED)
    assert_counts_match()
    tally = consultations.published_tally(item_ids()[0])
    assert tally.total == 402
    assert tally.stances == {
        "support": 134 + 2,
        "support_with_amendments": 0,
        "neutral": 0,
        "oppose": 133,
        "no_position": 0,
    }
    assert sum(tally.priorities.values()) == 134 + 2 + 133

    set_state(ids[:250], FeedbackState.REJECTED)  # a bulk rejection after publication
    assert_counts_match()
    assert consultations.published_positions(item_ids()[0]) == 150


def test_no_overall_position_is_counted_as_a_stance_of_its_own(backend):
    # Also on SQLite, whose CHECK constraint the migration widened in place.
    positions(5, state=PUBLISHED, stances=(Stance.NO_POSITION, Stance.NEUTRAL))
    assert_counts_match()
    tally = consultations.published_tally(item_ids()[0])
    assert (tally.stances["no_position"], tally.stances["neutral"], tally.total) == (3, 2, 5)


def test_the_public_tally_reads_the_counts_and_not_the_feedback(backend):
    positions(30, state=PUBLISHED)
    item_id = item_ids()[0]
    statements: list[str] = []

    def record(conn, cursor, statement, *args) -> None:  # noqa: ANN001
        statements.append(statement.lower())

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        tally = consultations.published_tally(item_id)
        total = consultations.published_positions(item_id)
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    assert (tally.total, total) == (30, 30)
    assert len(statements) == 2
    assert all("published_tallies" in s and "feedback" not in s for s in statements)


def test_a_recount_restores_counts_the_triggers_did_not_keep(backend):
    positions(7, state=PUBLISHED)
    db.session.execute(update(PublishedTally).values(positions=99))
    db.session.commit()
    assert stored() != recounted()
    consultations.recount_published_tallies(item_ids())
    db.session.commit()
    assert_counts_match()


@pytest.mark.postgres
def test_the_copy_fill_leaves_counts_equal_to_the_rows(seeded):
    """The fill's COPY transactions defer the counting and recount the items they wrote."""
    from app.dev import synthetic_feedback

    with seeded.app_context():
        report = synthetic_feedback.generate(600, seed=5)
        assert report.published > 0
        assert stored() == recounted()
        assert_counts_match()
