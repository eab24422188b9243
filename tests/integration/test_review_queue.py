"""The moderation queue: filters, search, keyset pages, counts, CSV export and who may see it."""

from __future__ import annotations

import csv
import io
import re
import time
from datetime import timedelta

import pytest
from sqlalchemy import event, func, select

from app.errors import DomainError
from app.extensions import db
from app.models import AuditEvent, Feedback, FeedbackState, Item, ModerationFlag, Organization
from app.models.base import utcnow
from app.models.feedback import Stance
from app.models.moderation import FlagKind
from app.models.organization import INTERNATIONAL_COUNTRY, OrganizationType, VerificationState

# (organisation, type, country, verified, language, state, comment, flag)
ROWS = (
    (
        "Queue NGO MX",
        OrganizationType.NGO,
        "MX",
        True,
        "es",
        FeedbackState.SUBMITTED,
        "Las visas temporales deben ser portátiles.",
        None,
    ),
    (
        "Queue Faith GT",
        OrganizationType.FAITH_BASED,
        "GT",
        False,
        "es",
        FeedbackState.SUBMITTED,
        "Los albergues necesitan financiación estable.",
        FlagKind.LINKS,
    ),
    (
        "Queue Legal CA",
        OrganizationType.LEGAL_AID,
        "CA",
        True,
        "fr",
        FeedbackState.SUBMITTED,
        "Les demandeurs d'asile attendent trop longtemps.",
        None,
    ),
    (
        "Queue Academic US",
        OrganizationType.ACADEMIC,
        "US",
        False,
        "en",
        FeedbackState.SUBMITTED,
        '=HYPERLINK("http://evil") data shows delays',
        FlagKind.PERSONAL_DATA,
    ),
    (
        "Queue Workers HN",
        OrganizationType.WORKERS,
        "HN",
        True,
        "es",
        FeedbackState.REJECTED,
        "Texto rechazado por el moderador.",
        None,
    ),
)
EXTRA = 23  # plain rows so that pages of 10 need several hops


@pytest.fixture
def queue_data(seeded):
    """Submissions with known attributes, one second apart, plus the demo ones."""
    with seeded.app_context():
        item = db.session.scalar(select(Item).where(Item.code == "P2"))
        version = next(v.id for v in item.versions if v.number == item.current_version)
        start = utcnow() - timedelta(days=10)
        rows = [*ROWS]
        rows += [
            (
                f"Queue Extra {n}",
                OrganizationType.OTHER,
                "PA",
                False,
                "en",
                FeedbackState.SUBMITTED,
                f"Plain extra submission number {n}.",
                None,
            )
            for n in range(EXTRA)
        ]
        for n, (name, kind, country, verified, language, state, comment, flag) in enumerate(rows):
            organization = Organization(
                name=name,
                type=kind,
                country=country,
                verification=VerificationState.VERIFIED if verified else VerificationState.PENDING,
            )
            db.session.add(organization)
            db.session.flush()
            feedback = Feedback(
                reference=f"QT-{n:04d}",
                item_id=item.id,
                item_version_id=version,
                organization_id=organization.id,
                state=state,
                stance=Stance.SUPPORT,
                priority=3,
                comment=comment,
                amendment="",
                language=language,
                submitted_at=start + timedelta(seconds=n),
            )
            db.session.add(feedback)
            db.session.flush()
            if flag is not None:
                db.session.add(ModerationFlag(feedback_id=feedback.id, kind=flag, detail="why"))
        db.session.commit()
    return seeded


@pytest.fixture
def moderator(client, login):
    login(client, "moderator@example.org")
    return client


def references(html: str) -> list[str]:
    return re.findall(
        r'<a class="govuk-link" id="entry-\d+" href="[^"]*">'
        r"((?:QT-\d{4})|(?:[A-Z]+-[0-9A-Z-]+))</a>",
        html,
    )


def queue_refs(client, **args) -> list[str]:
    response = client.get("/moderation/", query_string=args)
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    return [r for r in references(response.get_data(as_text=True)) if r.startswith("QT-")]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ({"country": "MX"}, ["QT-0000"]),
        ({"organization_type": "faith_based"}, ["QT-0001"]),
        ({"language": "fr"}, ["QT-0002"]),
        ({"flag": "personal_data"}, ["QT-0003"]),
        ({"state": "rejected"}, ["QT-0004"]),
        ({"verified": "yes", "state": "submitted"}, ["QT-0000", "QT-0002"]),
        ({"verified": "no", "flag": "links"}, ["QT-0001"]),
    ],
)
def test_each_filter_narrows_the_queue(queue_data, moderator, args, expected):
    assert queue_refs(moderator, **args) == expected


def test_item_and_consultation_filters(queue_data, moderator):
    with queue_data.app_context():
        item = db.session.scalar(select(Item).where(Item.code == "P2"))
        item_id, consultation_id = item.id, item.consultation_id
        other = db.session.scalar(select(Item.id).where(Item.code == "P3"))
    assert len(queue_refs(moderator, item=item_id)) == 4 + EXTRA
    assert queue_refs(moderator, item=other) == []
    assert len(queue_refs(moderator, consultation=consultation_id)) == 4 + EXTRA
    assert queue_refs(moderator, consultation=999999) == []


@pytest.mark.parametrize(
    ("word", "expected"),
    [("portátiles", ["QT-0000"]), ("albergues", ["QT-0001"]), ("demandeurs", ["QT-0002"])],
)
def test_search_finds_a_word_in_spanish_and_french_text(queue_data, moderator, word, expected):
    assert queue_refs(moderator, q=word) == expected


def test_search_uses_the_gin_index_expression(queue_data, monkeypatch):
    from app.moderation import queue as review_queue

    expression = "to_tsvector('simple', feedback.comment || ' ' || feedback.amendment)"
    statements = []

    def collect(_conn, _cursor, statement, *_args):
        statements.append(statement)

    with queue_data.app_context():
        # A rare word: its few matches are found first (through the GIN index's expression),
        # and the queue then orders only those.
        event.listen(db.engine, "before_cursor_execute", collect)
        try:
            rare = review_queue.filtered(review_queue.QueueFilter(q="asile"), Feedback.id)
        finally:
            event.remove(db.engine, "before_cursor_execute", collect)
        assert any(expression in sql for sql in statements)
        assert expression not in str(rare.compile(db.engine))
        # A common word: searched row by row along the queue's own order.
        monkeypatch.setattr(review_queue, "RARE_MATCHES", 0)
        common = review_queue.filtered(review_queue.QueueFilter(q="asile"), Feedback.id)
        assert expression in str(common.compile(db.engine))


@pytest.mark.parametrize(
    ("args", "found"),
    [
        ({"q": "albergues"}, True),
        ({"q": "asile", "state": "published"}, False),
        ({"q": "borrador"}, False),
        ({"q": "nothingmatchesthis"}, False),
    ],
)
def test_rare_and_common_searches_give_the_same_queue(
    queue_data, moderator, monkeypatch, args, found
):
    from app.moderation import queue as review_queue

    monkeypatch.setattr(review_queue, "RARE_MATCHES", 0)  # row by row along the queue
    expected = queue_refs(moderator, **args)
    assert bool(expected) is found
    monkeypatch.setattr(review_queue, "RARE_MATCHES", 5_000)  # the GIN index first
    assert queue_refs(moderator, **args) == expected


@pytest.mark.parametrize("order", ["oldest", "newest"])
def test_keyset_pages_neither_overlap_nor_skip(queue_data, order):
    from app.models import User
    from app.moderation import queue as review_queue

    with queue_data.app_context():
        moderator_id = db.session.scalar(
            select(User.id).where(User.email == "moderator@example.org")
        )
        filt = review_queue.QueueFilter(order=order)
        everything = review_queue.page(moderator_id, filt, limit=1000)
        seen, after = [], None
        while True:
            batch = review_queue.page(moderator_id, filt, after=after, limit=7)
            seen += batch
            if len(batch) < 7:
                break
            after = (batch[-1].submitted_at, batch[-1].id)
    ids = [entry.id for entry in seen]
    assert ids == [entry.id for entry in everything]
    assert len(ids) == len(set(ids))
    stamps = [(entry.submitted_at, entry.id) for entry in seen]
    assert stamps == sorted(stamps, reverse=order == "newest")


def test_international_organisations_are_a_country_choice_named_as_such(queue_data, moderator):
    with queue_data.app_context():
        organization = Organization(name="Queue International", country=INTERNATIONAL_COUNTRY)
        db.session.add(organization)
        db.session.flush()
        item = db.session.scalar(select(Item).where(Item.code == "P2"))
        db.session.add(
            Feedback(
                reference="QT-0900",
                item_id=item.id,
                item_version_id=item.versions[-1].id,
                organization_id=organization.id,
                state=FeedbackState.SUBMITTED,
                stance=Stance.NO_POSITION,
                priority=2,
                comment="We comment on the funding clauses only.",
                submitted_at=utcnow(),
            )
        )
        db.session.commit()
    assert queue_refs(moderator, country=INTERNATIONAL_COUNTRY) == ["QT-0900"]
    html = moderator.get("/moderation/?country=XX").get_data(as_text=True)
    assert '<option value="XX" selected>International / several countries</option>' in html
    entry = html[html.index("QT-0900") :]
    assert "International / several countries" in entry[:600]
    assert "No overall position" in entry[:600]


def test_next_page_link_keeps_the_filter(queue_data, moderator):
    html = moderator.get("/moderation/?country=PA&order=newest").get_data(as_text=True)
    assert html.count('class="queue-entry ') == EXTRA
    # 23 rows fit on one page of 50: no next link; the export link carries the filter.
    assert "export.csv?country=PA&amp;order=newest" in html


@pytest.mark.parametrize(
    "args",
    [
        "state=draft",
        "state=bogus",
        "flag=nope",
        "organization_type=cartel",
        "country=mexico",
        "language=english",
        "verified=maybe",
        "order=random",
        "item=abc",
        "consultation=-1",
        "q=" + "x" * 201,
    ],
)
def test_a_malformed_filter_is_a_400(queue_data, moderator, args):
    assert moderator.get(f"/moderation/?{args}").status_code == 400
    assert moderator.get(f"/moderation/export.csv?{args}").status_code == 400


def test_counts_per_state_and_flag(queue_data):
    from app.models import User
    from app.moderation import queue as review_queue

    with queue_data.app_context():
        moderator_id = db.session.scalar(
            select(User.id).where(User.email == "moderator@example.org")
        )
        everything = review_queue.counts(moderator_id, review_queue.QueueFilter())
        spanish = review_queue.counts(moderator_id, review_queue.QueueFilter(language="es"))
        demo_submitted = db.session.scalar(
            select(db.func.count()).where(
                Feedback.state == FeedbackState.SUBMITTED, ~Feedback.reference.like("QT-%")
            )
        )
    assert everything.by_state["submitted"] == 4 + EXTRA + demo_submitted
    assert everything.by_flag["links"] == 1
    assert everything.by_flag["personal_data"] == 1
    assert spanish.by_state["rejected"] >= 1
    assert spanish.by_flag["personal_data"] == 0


def test_counts_are_capped(queue_data, monkeypatch):
    from app.models import User
    from app.moderation import queue as review_queue

    monkeypatch.setattr(review_queue, "COUNT_CAP", 5)
    with queue_data.app_context():
        moderator_id = db.session.scalar(
            select(User.id).where(User.email == "moderator@example.org")
        )
        capped = review_queue.counts(moderator_id, review_queue.QueueFilter())
    assert capped.by_state["submitted"] == 6


def test_export_streams_the_filtered_queue_with_formulas_neutralised(queue_data, moderator):
    response = moderator.get("/moderation/export.csv?organization_type=academic")
    assert response.status_code == 200
    assert response.is_streamed
    assert response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0][0] == "reference"
    assert len(rows) == 2
    record = dict(zip(rows[0], rows[1], strict=True))
    assert record["reference"] == "QT-0003"
    assert record["comment"].startswith("'=HYPERLINK")
    assert record["flags"] == "personal_data"
    assert record["country"] == "US"
    with queue_data.app_context():
        event = db.session.scalar(
            select(AuditEvent).where(AuditEvent.action == "moderation.export")
        )
        assert event is not None
        assert event.after["organization_type"] == "academic"


def test_export_covers_more_than_one_batch(queue_data, moderator, monkeypatch):
    from app.moderation import exports

    monkeypatch.setattr(exports, "BATCH_SIZE", 4)
    rows = list(csv.reader(io.StringIO(moderator.get("/moderation/export.csv?country=PA").text)))
    assert len(rows) == 1 + EXTRA
    assert len({row[0] for row in rows[1:]}) == EXTRA


def test_council_may_export(queue_data, client, login):
    login(client, "council@example.org")
    assert client.get("/moderation/export.csv").status_code == 200


@pytest.mark.parametrize("url", ["/moderation/", "/moderation/export.csv", "/moderation/?q=asile"])
def test_a_stakeholder_gets_403_and_nothing_of_the_queue(queue_data, client, login, url):
    login(client, "lead@example.org")
    response = client.get(url)
    assert response.status_code == 403
    body = response.get_data(as_text=True)
    assert "QT-0" not in body
    assert "albergues" not in body


@pytest.mark.parametrize("url", ["/moderation/", "/moderation/export.csv?country=MX"])
def test_a_visitor_is_refused_and_sees_nothing(queue_data, client, url):
    response = client.get(url)
    assert response.status_code == 403
    assert "QT-0" not in response.get_data(as_text=True)


def test_the_queue_page_offers_shortcuts_and_links_to_each_submission(queue_data, moderator):
    html = moderator.get("/moderation/?country=MX").get_data(as_text=True)
    assert "moderation-queue.js" in html
    assert "<details" in html
    with queue_data.app_context():
        fb_id = db.session.scalar(select(Feedback.id).where(Feedback.reference == "QT-0000"))
    assert f"/moderation/{fb_id}/publish" in html
    assert re.search(rf'href="/moderation/(feedback/)?{fb_id}"', html)
    for label in ('for="filter-q"', 'for="filter-state"', 'for="filter-country"'):
        assert label in html


@pytest.mark.redis
def test_counts_are_shared_through_redis_for_a_few_seconds_then_counted_again(
    queue_data, redis_url, monkeypatch
):
    import redis

    from app.cache import CACHE_PREFIX
    from app.models import User
    from app.moderation import queue as review_queue

    settings = queue_data.config["SETTINGS"]
    monkeypatch.setitem(
        queue_data.config,
        "SETTINGS",
        settings.replace(redis_url=redis_url, queue_counts_seconds=1),
    )
    client = redis.Redis.from_url(redis_url)
    for key in client.keys(f"{CACHE_PREFIX}{settings.celery_queue}:*"):
        client.delete(key)
    counted = []
    real = review_queue._counted
    monkeypatch.setattr(review_queue, "_counted", lambda filt: counted.append(filt) or real(filt))
    with queue_data.app_context():
        moderator_id = db.session.scalar(
            select(User.id).where(User.email == "moderator@example.org")
        )
        first = review_queue.counts(moderator_id, review_queue.QueueFilter())
        again = review_queue.counts(moderator_id, review_queue.QueueFilter())
        spanish = review_queue.counts(moderator_id, review_queue.QueueFilter(language="es"))
        assert again == first  # from Redis, as counted
        assert len(counted) == 2  # once per filter, not per view
        assert spanish != first
        time.sleep(1.2)
        review_queue.counts(moderator_id, review_queue.QueueFilter())
        assert len(counted) == 3  # expired: counted afresh
        # A stakeholder is refused before anything is read from the cache.
        stakeholder = db.session.scalar(
            select(User.id).where(User.email == "stakeholder@example.org")
        )
        with pytest.raises(DomainError):
            review_queue.counts(stakeholder, review_queue.QueueFilter())


def walk_pages(client, monkeypatch, size: int, **args) -> list[tuple[str, str]]:
    """(reference, organisation) of every queue row, following the pagination's Next link."""
    from app.moderation import views

    monkeypatch.setattr(views, "PAGE_SIZE", size)
    url, rows = "/moderation/?" + "&".join(f"{k}={v}" for k, v in args.items()), []
    for _hop in range(50):
        page_html = client.get(url).get_data(as_text=True)
        rows += re.findall(
            r'id="entry-\d+" href="[^"]*">([^<]+)</a></th>.*?</td>\s*<td class="govuk-table__cell">'
            r"([^<]+?)\s*<span",
            page_html,
            flags=re.S,
        )
        found = re.search(
            r'<a class="govuk-link govuk-pagination__link" href="([^"]+)" rel="next"', page_html
        )
        if not found:
            return rows
        url = found.group(1).replace("&amp;", "&")
    raise AssertionError("the pages never end")


@pytest.mark.parametrize("order", ["organisation", "-organisation"])
def test_a_column_sorts_the_whole_queue_across_pages(queue_data, moderator, monkeypatch, order):
    rows = walk_pages(moderator, monkeypatch, 7, order=order)
    names = [name.strip().lower() for _ref, name in rows]
    assert names == sorted(names, reverse=order.startswith("-"))
    references = [ref for ref, _name in rows]
    assert len(references) == len(set(references))  # no row twice across the pages
    with queue_data.app_context():
        waiting = db.session.scalar(
            select(func.count()).where(Feedback.state == FeedbackState.SUBMITTED)
        )
    assert len(references) == waiting  # and none missed
    assert "QT-0000" in references and f"QT-{EXTRA + 4:04d}" in references


def test_column_headers_are_links_that_set_the_order_and_mark_it(queue_data, moderator):
    page_html = moderator.get("/moderation/?country=PA&order=priority").get_data(as_text=True)
    header = re.search(r'<th scope="col"[^>]*data-sort="priority".*?</th>', page_html, re.S)[0]
    assert 'aria-sort="ascending"' in header
    assert "order=-priority" in header and "country=PA" in header  # the filter is kept
    other = re.search(r'<th scope="col"[^>]*data-sort="reference".*?</th>', page_html, re.S)[0]
    assert 'aria-sort="none"' in other and "order=reference" in other
    descending = moderator.get("/moderation/?order=-reference").get_data(as_text=True)
    refs = [r for r in references(descending) if r.startswith("QT-")]
    assert refs == sorted(refs, reverse=True)
    assert 'data-sort="reference"' in descending
    assert re.search(r'aria-sort="descending" data-sort="reference"', descending)


@pytest.mark.parametrize(
    "after",
    [
        "0001-01-01T00:00:00%2B01:00_1",  # no UTC time exists before year 1: was a 500
        "9999-12-31T23:59:59-01:00_1",
        "not-a-time_1",
        "2026-01-01T00:00:00_x",
    ],
)
def test_a_date_cursor_out_of_range_or_malformed_is_a_400(queue_data, moderator, after):
    assert moderator.get(f"/moderation/?after={after}").status_code == 400


def test_a_column_order_refuses_a_cursor_that_is_not_a_row(queue_data, moderator):
    assert moderator.get("/moderation/?order=priority&after=abc").status_code == 400
    assert moderator.get("/moderation/?order=priority&after=99999999").status_code == 400


def test_the_filter_panel_draws_each_filter_and_narrows_the_table(queue_data, moderator):
    page_html = moderator.get("/moderation/?organization_type=legal_aid").get_data(as_text=True)
    panel = page_html[page_html.index('class="moj-filter-layout__filter"') :]
    panel = panel[: panel.index('class="moj-filter-layout__content"')]
    for name in (
        "q",
        "state",
        "consultation",
        "item",
        "flag",
        "organization_type",
        "country",
        "language",
        "verified",
    ):
        assert f'name="{name}"' in panel and f'for="filter-{name}"' in panel
    assert "govuk-select" in panel and "govuk-input" in panel and "Clear filters" in panel
    # countries, languages, consultations and items by name, never by code
    assert ">Mexico</option>" in panel and ">Spanish</option>" in panel
    assert "leaders-summit-2021-migration" not in panel
    assert [r for r in references(page_html) if r.startswith("QT-")] == ["QT-0002"]


def test_a_nul_in_the_queue_search_is_a_400_for_the_page_and_the_export(seeded, client, login):
    login(client, "moderator@example.org")
    for path in ("/moderation/", "/moderation/export.csv"):
        response = client.get(f"{path}?q=visa%00")
        assert response.status_code == 400, path
