"""The item page's published list in keyset pages: links that lead to the same place when
positions are published meanwhile, a last page, odd cursors answered with the first page; and
the page's tally and total read from the published tallies, not counted from the feedback."""

from __future__ import annotations

import html
import re

import pytest
from sqlalchemy import event

from app.extensions import db
from tests.helpers.feedback import ITEM, add_published_feedback

pytestmark = [pytest.mark.postgres]


def entries_on(page: str, prefix: str = "Paged") -> list[str]:
    return re.findall(rf"{prefix} entry (\d\d)\.", page)


def link(page: str, rel: str) -> str | None:
    """The address of the pagination's link `rel` (first, prev, next), if the page has one."""
    for tag in re.findall(r"<a [^>]*>", page):
        found = re.search(r'href="([^"#]+)#published-title"', tag)
        if found and f'rel="{rel}"' in tag:
            return html.unescape(found[1])
    return None


def test_a_next_link_leads_to_the_same_positions_after_new_ones_are_published(seeded, client):
    add_published_feedback(seeded, 45)
    first = client.get(ITEM).get_data(as_text=True)
    second_link = link(first, "next")
    second = client.get(second_link).get_data(as_text=True)
    assert entries_on(second) == [f"{n:02d}" for n in range(20, 40)]

    add_published_feedback(seeded, 3, prefix="Later")  # newer than every page's cursor
    again = client.get(second_link).get_data(as_text=True)
    assert entries_on(again) == entries_on(second)
    assert entries_on(client.get(link(again, "next")).get_data(as_text=True)) == [
        f"{n:02d}" for n in range(40, 45)
    ]
    # Back from the second page: the twenty just before it, and a way to the newer ones.
    back = client.get(link(again, "prev")).get_data(as_text=True)
    assert entries_on(back)[-1] == "19"
    assert len(entries_on(back)) + len(entries_on(back, "Later")) == 20
    assert link(back, "prev") is not None
    newest = client.get(link(back, "first")).get_data(as_text=True)
    assert "Page 1 of 3" in newest and "48 published positions" in newest
    assert entries_on(newest, "Later") == ["00", "01", "02"]


def test_the_last_page_has_no_next_link_and_a_cursor_past_the_end_is_an_empty_page(seeded, client):
    add_published_feedback(seeded, 21)
    last = client.get(link(client.get(ITEM).get_data(as_text=True), "next"))
    page = last.get_data(as_text=True)
    assert entries_on(page) == ["20"] and link(page, "next") is None
    past = client.get(f"{ITEM}?after=1_1")  # before any position was published
    assert past.status_code == 200
    assert entries_on(past.get_data(as_text=True)) == []
    assert "No more published feedback." in past.get_data(as_text=True)
    assert link(past.get_data(as_text=True), "first") == ITEM  # a way back from past the end
    assert entries_on(client.get(link(past.get_data(as_text=True), "prev")).get_data(as_text=True))


def test_the_item_page_counts_nothing_in_the_feedback(seeded, client):
    add_published_feedback(seeded, 25)
    statements: list[str] = []

    def record(conn, cursor, statement, *args) -> None:  # noqa: ANN001
        statements.append(" ".join(statement.lower().split()))

    with seeded.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        for address in (ITEM, f"{ITEM}?page=2"):
            page = client.get(address).get_data(as_text=True)
            assert "25 published positions" in page
    finally:
        event.remove(engine, "before_cursor_execute", record)
    reads_feedback = [s for s in statements if re.search(r"\bfrom feedback\b", s)]
    assert reads_feedback
    assert not [s for s in reads_feedback if "count(" in s or "group by" in s]
    assert any("from published_tallies" in s for s in statements)
