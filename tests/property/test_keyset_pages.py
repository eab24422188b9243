"""Keyset pages against real rows: walking the pages of a list, each page reached through the
cursor the page before it wrote (as text, as in its links), gives every row exactly once and in
the order of one page holding them all, whatever ties the sort keys have. Each example writes
its rows in one transaction on the real database and rolls it back."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from app.extensions import db
from app.feedback.published import Cursor, published_page
from app.models import Feedback, FeedbackState, Organization, OrganizationType, Role, Stance
from app.moderation import queue as review_queue
from app.moderation.queue_sorting import ORDERS, date_cursor, read_date_cursor
from app.parsing import id_argument
from tests import factories

# Few distinct moments a microsecond apart, so that many rows tie on their time.
BASE = datetime(2026, 3, 1, 9, tzinfo=UTC)
MOMENTS = [BASE, BASE + timedelta(microseconds=1), BASE + timedelta(hours=1), BASE]
NAMES = ("alpha", "Alpha", "beta", "Ärzte", "zeta") * 3  # ties once lower-cased, accents

SETTINGS = settings(
    max_examples=25,  # each example writes rows and reads a dozen pages
    # The items and the moderator are made once per test; each example rolls back its rows.
    suppress_health_check=[HealthCheck.function_scoped_fixture],
    # A failure is reported as found: shrinking through the database would outlast the timeout.
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
)

rows = st.lists(
    st.fixed_dictionaries(
        {
            "organisation": st.integers(0, len(NAMES) - 1),
            "item": st.integers(0, 2),
            "moment": st.sampled_from(MOMENTS),
            "stance": st.sampled_from([*Stance, None]),
            "priority": st.sampled_from([1, 2, 5, None]),
            "state": st.sampled_from([FeedbackState.SUBMITTED] * 3 + [FeedbackState.PUBLISHED]),
        }
    ),
    max_size=24,
)


@pytest.fixture
def place(unseeded):
    """(items of one consultation, a moderator's id), in an app context for the examples."""
    with unseeded.app_context():
        items = factories.consultation(codes=("A1", "A2", "B1")).items
        moderator = factories.staff(Role.MODERATOR)
        yield items, moderator.id
        db.session.rollback()


def write(items: list, specs: list[dict], *, published: bool = False) -> None:
    """The example's organisations and positions, flushed, not committed; all of them
    published on the first item when `published`."""
    tokens = itertools.count(1)
    orgs = [
        Organization(name=f"{name} {next(tokens)}", type=OrganizationType.NGO, country="MX")
        for name in NAMES
    ]
    db.session.add_all(orgs)
    db.session.flush()
    seen = set()
    for spec in specs:
        if published:
            spec = {**spec, "item": 0, "state": FeedbackState.PUBLISHED}
        org, item = orgs[spec["organisation"]], items[spec["item"]]
        if (org.id, item.id) in seen:  # one position per organisation and item
            continue
        seen.add((org.id, item.id))
        db.session.add(
            Feedback(
                reference=f"K-{org.id}-{item.id}",
                item_id=item.id,
                item_version_id=item.versions[0].id,
                organization_id=org.id,
                state=spec["state"],
                stance=spec["stance"],
                priority=spec["priority"],
                comment="A position.",
                submitted_at=spec["moment"],
                published_at=(spec["moment"] if spec["state"] is FeedbackState.PUBLISHED else None),
            )
        )
    db.session.flush()


@SETTINGS
@given(specs=rows, per_page=st.integers(1, 5))
def test_public_pages_walked_forward_and_back_give_every_position_once(place, specs, per_page):
    items, _moderator = place
    item_id = items[0].id
    try:
        write(items, specs, published=True)
        everything = [e.id for e in published_page(item_id, per_page=1000).entries]
        pages = [published_page(item_id, per_page=per_page)]
        while pages[-1].older is not None:
            assert len(pages) <= len(everything), "the pages go round in circles"
            cursor = Cursor.parse(str(pages[-1].older))  # as the "older" link carries it
            pages.append(published_page(item_id, after=cursor, per_page=per_page))
        assert [e.id for page in pages for e in page.entries] == everything
        # And back from the last page, through each page's "newer" link, to the first.
        for number in range(len(pages) - 1, 0, -1):
            cursor = Cursor.parse(str(pages[number].newer))
            before = published_page(item_id, before=cursor, per_page=per_page)
            assert [e.id for e in before.entries] == [e.id for e in pages[number - 1].entries]
    finally:
        db.session.rollback()


def next_page(moderator_id: int, order: str, last, limit: int) -> list:  # noqa: ANN001
    """The queue's page after the row `last`, reached as the view's "next" link reaches it."""
    filt = review_queue.QueueFilter(order=order)
    if order in ("oldest", "newest"):
        after = read_date_cursor(date_cursor(last.submitted_at, last.id))
        return review_queue.page(moderator_id, filt, after=after, limit=limit)
    after_id = id_argument({"after": str(last.id)}, "after")
    return review_queue.page(moderator_id, filt, after_id=after_id, limit=limit)


@SETTINGS
@given(specs=rows, per_page=st.integers(1, 5))
def test_queue_pages_in_every_order_give_every_submission_once(place, specs, per_page):
    items, moderator_id = place
    try:
        write(items, specs)
        for order in ORDERS:
            filt = review_queue.QueueFilter(order=order)
            everything = [e.id for e in review_queue.page(moderator_id, filt, limit=1000)]
            walked = review_queue.page(moderator_id, filt, limit=per_page)
            page = walked
            while len(page) == per_page:
                assert len(walked) <= len(everything), f"{order}: the pages go round in circles"
                page = next_page(moderator_id, order, page[-1], per_page)
                walked = walked + page
            assert [e.id for e in walked] == everything, order
    finally:
        db.session.rollback()
