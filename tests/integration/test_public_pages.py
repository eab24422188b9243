"""The public pages, on SQLite and PostgreSQL: each item's tally drawn as bars with its numbers,
how many organisations took part, the time left to comment in the reader's language, the
council's responses and reports easy to find, and the search over an item's published feedback
(free text, stance, language, organisation type and country, pages, bad input)."""

from __future__ import annotations

import html
import itertools
import re
import shutil
from collections.abc import Iterator
from datetime import timedelta

import flask_babel
import pytest
from flask import Flask
from flask.testing import FlaskClient

from app import create_app
from app.extensions import db
from app.feedback.positions import new_reference
from app.models import (
    Attribution,
    Consultation,
    CosignState,
    CouncilResponse,
    Decision,
    Disclosure,
    Feedback,
    FeedbackCosigner,
    FeedbackState,
    Organization,
    OrganizationType,
    Redaction,
    Report,
    ReportStatus,
    Stance,
    VerificationState,
)
from app.models.base import utcnow
from tests import factories
from tests.helpers.services import app_settings

_numbers = itertools.count(1)
ANONYMOUS = "Anonymous organisation"


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
    ]
)
def backend(request: pytest.FixtureRequest, tmp_path, migrated_sqlite) -> Iterator[Flask]:
    """An app context on a migrated database with an open consultation of items A1 and A2."""
    if request.param == "postgresql":
        application = request.getfixturevalue("unseeded")
        with application.app_context():
            factories.consultation(slug="town-hall-2027", codes=("A1", "A2"))
            yield application
        return
    path = shutil.copy(migrated_sqlite, tmp_path / "public.sqlite")
    application = create_app(app_settings(tmp_path, f"sqlite:///{path}", None, "public-pages"))
    with application.app_context():
        factories.consultation(slug="town-hall-2027", codes=("A1", "A2"))
        yield application
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(backend: Flask) -> FlaskClient:
    return backend.test_client()


SLUG = "town-hall-2027"
CONSULTATION = f"/c/{SLUG}"
A1 = f"{CONSULTATION}/items/A1"


def the_consultation() -> Consultation:
    return db.session.scalar(db.select(Consultation).where(Consultation.slug == SLUG))


def item_id(code: str) -> int:
    consultation = the_consultation()
    return next(item.id for item in consultation.items if item.code == code)


def published(
    code: str = "A1",
    *,
    comment: str = "A published position.",
    stance: Stance = Stance.SUPPORT,
    state: FeedbackState = FeedbackState.PUBLISHED,
    organization: Organization | None = None,
    kind: OrganizationType = OrganizationType.NGO,
    country: str = "MX",
    name: str | None = None,
    language: str = "en",
    anonymous: bool = False,
    comment_disclosure: Disclosure = Disclosure.PUBLIC,
    age: int = 0,
) -> Feedback:
    """A position on the item (published unless `state` says otherwise), of a new verified
    organisation unless one is given; `age` hours old."""
    number = next(_numbers)
    if organization is None:
        organization = Organization(
            name=name or f"Public pages organisation {number}",
            type=kind,
            country=country,
            verification=VerificationState.VERIFIED,
            verified_at=utcnow(),
        )
        db.session.add(organization)
        db.session.flush()
    item = item_id(code)
    consultation = the_consultation()
    version = next(i for i in consultation.items if i.id == item).versions[0]
    feedback = Feedback(
        reference=new_reference(),
        item_id=item,
        item_version_id=version.id,
        organization_id=organization.id,
        state=state,
        stance=stance,
        priority=3,
        comment=comment,
        comment_disclosure=comment_disclosure,
        attribution=Attribution.ANONYMOUS if anonymous else Attribution.NAMED,
        language=language,
        affected_populations=[],
        countries=[],
        evidence_links=[],
        submitted_at=utcnow() - timedelta(days=1),
        published_at=utcnow() - timedelta(hours=age) if state is FeedbackState.PUBLISHED else None,
    )
    db.session.add(feedback)
    db.session.commit()
    return feedback


def page_of(client: FlaskClient, address: str, status: int = 200, **headers: str) -> str:
    response = client.get(address, headers=headers)
    assert response.status_code == status, address
    return html.unescape(response.get_data(as_text=True))


def names_on(page: str) -> list[str]:
    return re.findall(r'<h3 class="govuk-heading-m[^"]*" id="entry-\d+">([^<]+)</h3>', page)


def select_of(page: str, name: str) -> str:
    start = page.index(f'id="search-{name}"')
    return page[start : page.index("</select>", start)]


def results(page: str) -> str:
    return re.search(r"data-results[^>]*>([^<]+)<", page)[1]


# The tally, participation, responses and reports.


def test_the_item_page_draws_each_stance_with_its_count_and_share(backend, client):
    for _ in range(3):
        published(stance=Stance.SUPPORT)
    published(stance=Stance.OPPOSE)
    published(stance=Stance.NEUTRAL, state=FeedbackState.SUBMITTED)  # not public: not counted
    page = page_of(client, A1)
    tally = page[page.index('id="tally-title"') : page.index('id="published-title"')]
    assert re.search(r'data-stance="support">3<', tally)
    assert re.search(r'data-stance="oppose">1<', tally)
    assert re.search(r'data-stance="neutral">0<', tally)
    assert re.search(r'data-stance-share="support">75%<', tally)
    assert re.search(r'data-stance-share="oppose">25%<', tally)
    # The bars are SVG drawn to scale (no style attribute: the CSP forbids them).
    assert 'class="app-bar__fill app-stance--support" x="0" y="0" width="75.00"' in tally
    assert 'class="app-bar__fill app-stance--oppose" x="0" y="0" width="25.00"' in tally
    assert "style=" not in tally
    assert "4 organisations took part" in page


def test_the_consultation_page_shows_each_items_small_tally(backend, client):
    published("A1", stance=Stance.SUPPORT)
    published("A1", stance=Stance.OPPOSE)
    published("A2", stance=Stance.OPPOSE)
    page = page_of(client, CONSULTATION)
    a1 = page[page.index('data-item-summary="A1"') : page.index('data-item-summary="A2"')]
    a2 = page[page.index('data-item-summary="A2"') :]
    assert "2 organisations took part" in a1
    assert re.search(r'Support: <span data-stance="support">1</span> \(50%\)', a1)
    assert re.search(r'Oppose: <span data-stance="oppose">1</span> \(50%\)', a1)
    assert "1 organisation took part" in a2
    assert 'data-stance="support"' not in a2.split("</li>")[0]  # no empty stances listed
    assert 'width="50.00"' in a1 and 'x="50.00"' in a1  # two halves of one stacked bar


def test_the_participation_counts_each_organisation_once_cosigners_included(backend, client):
    first = published("A1")
    published("A2", organization=db.session.get(Organization, first.organization_id))
    other = published("A2")
    cosigner = factories.organization()
    db.session.add(
        FeedbackCosigner(
            feedback_id=other.id, organization_id=cosigner.id, state=CosignState.ACCEPTED
        )
    )
    declined = factories.organization()
    db.session.add(
        FeedbackCosigner(
            feedback_id=other.id, organization_id=declined.id, state=CosignState.DECLINED
        )
    )
    db.session.commit()
    published("A1", state=FeedbackState.SUBMITTED)  # waiting for moderation: not yet
    consultation = page_of(client, CONSULTATION)
    assert re.search(r"<span data-participation>3</span>", consultation)
    index = page_of(client, "/")
    assert "3 organisations have taken part." in index
    # On A2: the first organisation, the other and its co-signer.
    assert "3 organisations took part" in page_of(client, f"{CONSULTATION}/items/A2")


def test_the_participation_never_ties_an_anonymous_position_to_a_named_one(backend, client):
    # One organisation, named on A1 and anonymous on A2: were it counted once, a visitor
    # would learn that the anonymous position is the named organisation's.
    named = published("A1", name="Known Org")
    published(
        "A2", organization=db.session.get(Organization, named.organization_id), anonymous=True
    )
    consultation = page_of(client, CONSULTATION)
    assert re.search(r"<span data-participation>2</span>", consultation)
    item = page_of(client, f"{CONSULTATION}/items/A2")
    assert "Known Org" not in item


def test_the_councils_published_responses_and_reports_are_on_the_consultation_page(backend, client):
    consultation = the_consultation()
    for code, decision, when in (
        ("A2", Decision.ACCEPTED, utcnow()),
        ("A1", Decision.NOT_ACCEPTED, None),
    ):
        db.session.add(
            CouncilResponse(
                consultation_id=consultation.id,
                item_id=item_id(code),
                decision=decision,
                rationale="Because **we** weighed it.",
                published_at=when,
            )
        )
    for item, public, published_at in (
        (item_id("A1"), True, utcnow()),  # the public version, published
        (None, True, None),  # prepared, not yet published
        (None, False, utcnow()),  # the council's own version never shows
    ):
        db.session.add(
            Report(
                scope=f"item:{item}" if item else f"consultation:{consultation.id}",
                consultation_id=consultation.id,
                item_id=item,
                snapshot_key=f"public-pages-{next(_numbers)}",
                status=ReportStatus.DONE,
                is_public=public,
                published_at=published_at,
            )
        )
    db.session.commit()
    page = page_of(client, CONSULTATION)
    reports = page[page.index('id="reports-title"') :]
    assert re.findall(r'href="/c/[^"]+/reports/\d+">([^<]+)</a>', reports) == ["Report on A1"]
    responses = page[page.index('id="responses-title"') : page.index('id="reports-title"')]
    assert f'href="{CONSULTATION}/items/A2#response-title">Response on A2</a>' in responses
    assert "Accepted" in responses
    assert 'data-response="A1"' not in page  # not published: the council's only
    item = page_of(client, f"{CONSULTATION}/items/A2")
    # Near the top: before the item's text.
    assert item.index('id="response-title"') < item.index("The text of item A2.")
    assert "<strong>we</strong>" in item
    assert "The council has not published" not in page


def test_without_responses_or_reports_the_consultation_page_says_so(backend, client):
    page = page_of(client, CONSULTATION)
    assert "The council has not published a response or a report yet." in page


# The time left to comment, in the reader's language.


def set_window(opens_in: timedelta, closes_in: timedelta) -> Consultation:
    consultation = the_consultation()
    now = utcnow()
    consultation.opens_at, consultation.closes_at = now + opens_in, now + closes_in
    db.session.commit()
    return consultation


def window_on(client: FlaskClient, address: str, locale: str) -> str:
    page = page_of(client, address, **{"Accept-Language": locale})
    return re.search(r"<span data-window>([^<]+)</span>", page)[1].replace("\xa0", " ")


def long_date(app: Flask, moment, locale: str) -> str:  # noqa: ANN001
    with app.test_request_context("/", headers={"Accept-Language": locale}):
        return flask_babel.format_date(moment, "long").replace("\xa0", " ")


@pytest.mark.parametrize(
    ("locale", "days"), [("en", "5 days"), ("es", "5 días"), ("fr", "5 jours")]
)
def test_an_open_consultation_says_how_long_is_left_in_the_readers_language(
    backend, client, locale, days
):
    consultation = set_window(-timedelta(days=2), timedelta(days=5, hours=1))
    date = long_date(backend, consultation.closes_at, locale)
    for address in ("/", CONSULTATION, A1):
        text = window_on(client, address, locale)
        assert days in text and date in text, (address, text)
    if locale == "en":
        assert window_on(client, CONSULTATION, "en") == f"Closes in 5 days, on {date}"


@pytest.mark.parametrize("locale", ["en", "es", "fr"])
def test_an_upcoming_consultation_says_when_it_opens(backend, client, locale):
    consultation = set_window(timedelta(days=3), timedelta(days=30))
    date = long_date(backend, consultation.opens_at, locale)
    text = window_on(client, CONSULTATION, locale)
    assert date in text
    if locale == "en":
        assert text == f"Opens on {date}"
    assert 'data-state="upcoming"' in page_of(client, CONSULTATION)


@pytest.mark.parametrize("locale", ["en", "es", "fr"])
def test_a_closed_consultation_says_when_it_closed(backend, client, locale):
    consultation = set_window(-timedelta(days=30), -timedelta(days=2))
    date = long_date(backend, consultation.closes_at, locale)
    text = window_on(client, A1, locale)
    assert date in text
    if locale == "en":
        assert text == f"Closed on {date}"
    assert 'data-state="closed"' in page_of(client, A1)


def test_no_slug_is_shown_as_text(backend, client):
    for address in ("/", CONSULTATION, A1):
        page = page_of(client, address)
        text = re.sub(r"<[^>]+>", " ", page)  # what a person reads, not the addresses
        assert SLUG not in text, address


# Search and filters over the published feedback.


def test_the_free_text_search_finds_what_the_public_reads(backend, client):
    published(comment="Seasonal visas need portability.", name="Visa Watch", age=1)
    published(comment="Nothing about that.", name="Portable Rights Network", age=2)
    published(comment="Portability, anonymously.", name="Hidden Portability Org", anonymous=True)
    published(comment="Portability for the council.", comment_disclosure=Disclosure.COUNCIL_ONLY)
    page = page_of(client, f"{A1}?q=PORTAB")
    assert results(page) == "3 published positions match your search"
    assert "Visa Watch" in names_on(page)
    assert "Portable Rights Network" in names_on(page)  # by its name
    assert "Anonymous organisation" in names_on(page)  # by its comment, never its name
    assert "Hidden Portability Org" not in page
    assert "Portability for the council." not in page
    # The search is kept in the form.
    assert 'name="q" type="text" value="PORTAB"' in page or 'value="PORTAB"' in page


def test_the_search_does_not_find_an_anonymous_organisation_by_its_name(backend, client):
    published(comment="A comment.", name="Quietly Named Org", anonymous=True)
    page = page_of(client, f"{A1}?q=Quietly")
    assert results(page) == "0 published positions match your search"
    assert "No published feedback matches your search." in page


def redact(feedback: Feedback, words: str) -> None:
    start = feedback.comment.index(words)
    db.session.add(
        Redaction(
            feedback_id=feedback.id,
            field="comment",
            start=start,
            end=start + len(words),
            reason="A person's name.",
        )
    )
    db.session.commit()


def test_the_search_never_finds_a_redacted_word(backend, client):
    feedback = published(comment="Call Maria Lopez on 555.")
    spared = published(comment="Maria runs the shelter.")
    redact(feedback, "Maria Lopez")
    page = page_of(client, f"{A1}?q=maria")
    assert results(page) == "1 published position matches your search"
    assert spared.reference in page and feedback.reference not in page
    found = page_of(client, f"{A1}?q=call")  # its redacted text still holds the other words
    assert feedback.reference in found


@pytest.mark.parametrize("query", ["ted", "red", "dact", "strasse"])
def test_whether_a_position_is_found_never_depends_on_its_hidden_words(backend, client, query):
    # Both read "Call [redacted] now. Die Straße ist zu." in public: a search must treat them
    # alike, whatever the hidden names hold ("Ted", "Strasser") and whatever the mark spells.
    ted = published(comment="Call Ted Strasser now. Die Straße ist zu.")
    bob = published(comment="Call Bob Meier now. Die Straße ist zu.")
    redact(ted, "Ted Strasser")
    redact(bob, "Bob Meier")
    page = page_of(client, f"{A1}?q={query}")
    assert (ted.reference in page) == (bob.reference in page)
    assert ted.reference not in page  # neither the mark nor a hidden word is searchable


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("stance=oppose", {"Opposing Org"}),
        ("language=es", {"Spanish Org"}),
        ("type=academic", {"Academic Org"}),
        ("country=GT", {"Guatemalan Org"}),
        ("country=gt&type=academic", set()),
        ("stance=support&language=en", {"Academic Org", "Guatemalan Org", ANONYMOUS}),
    ],
)
def test_each_filter_narrows_the_published_feedback(backend, client, query, expected):
    published(name="Opposing Org", stance=Stance.OPPOSE)
    published(name="Spanish Org", language="es", stance=Stance.NEUTRAL)
    published(name="Academic Org", kind=OrganizationType.ACADEMIC)
    published(name="Guatemalan Org", country="GT")
    published(name="Anonymous Academic", kind=OrganizationType.ACADEMIC, anonymous=True)
    page = page_of(client, f"{A1}?{query}")
    assert set(names_on(page)) == expected
    assert results(page).startswith(f"{len(expected)} published position")
    assert "Anonymous Academic" not in page


def test_a_named_organisations_type_and_country_are_shown_an_anonymous_ones_are_not(
    backend, client
):
    named = published(name="Shown Academic", kind=OrganizationType.ACADEMIC, country="GT")
    hidden = published(name="Hidden Legal", kind=OrganizationType.LEGAL_AID, anonymous=True)
    page = page_of(client, A1)
    entry = page[page.index(f'id="{named.reference}"') :].split("</article>")[0]
    assert re.search(r"Academic or research centre, Guatemala\s*<", entry)
    anonymous = page[page.index(f'id="{hidden.reference}"') :].split("</article>")[0]
    assert "Legal aid provider" not in anonymous and "Hidden Legal" not in anonymous


def test_the_filters_offer_the_languages_and_countries_of_the_published_feedback(backend, client):
    published(language="fr", country="GT")
    published(language="es", country="XX", anonymous=True)  # an anonymous country is not offered
    page = page_of(client, A1)
    language = page[
        page.index('id="search-language"') : page.index(
            "</select>", page.index('id="search-language"')
        )
    ]
    country = page[
        page.index('id="search-country"') : page.index(
            "</select>", page.index('id="search-country"')
        )
    ]
    assert '<option value="fr">French</option>' in language
    assert '<option value="es">Spanish</option>' in language
    assert '<option value="GT">Guatemala</option>' in country
    assert 'value="XX"' not in country and 'value="MX"' not in country


def test_the_pages_of_a_search_keep_the_search(backend, client):
    for age in range(25):
        published(comment=f"Match {age:02d}.", age=age)
    for age in range(5):
        published(comment="Other.", stance=Stance.OPPOSE, age=age)
    first = page_of(client, f"{A1}?q=match&stance=support")
    assert results(first) == "25 published positions match your search"
    assert len(names_on(first)) == 20
    following = re.search(r'href="([^"]+)#published-title" rel="next"', first)[1]
    assert "q=match" in following and "stance=support" in following
    second = page_of(client, following)
    assert len(names_on(second)) == 5
    assert "Match 24." in second and "Other." not in second
    back = re.search(r'href="([^"]+)#published-title" rel="prev"', second)[1]
    assert "q=match" in back
    assert "Match 00." in page_of(client, back)
    assert "Page 2 of 2" in page_of(client, f"{A1}?q=match&stance=support&page=2")


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("stance=maybe", "Choose a stance from the list."),
        ("language=1", "Choose a language from the list."),
        ("type=club", "Choose a type of organisation from the list."),
        ("country=Mexico", "Choose a country from the list."),
        ("q=" + "x" * 201, "Enter 200 characters or fewer to search for."),
    ],
)
def test_a_bad_search_is_answered_with_a_message_not_an_error(backend, client, query, message):
    published(name="Still Here Org")
    page = page_of(client, f"{A1}?{query}", status=400)
    assert "There is a problem" in page
    assert message in page
    assert "govuk-error-summary" in page
    assert "Still Here Org" not in page  # no list for a search that could not run
    assert "Correct the search to see the published feedback." in page


def test_odd_characters_in_the_search_are_searched_for_literally(backend, client):
    published(name="Percent Org", comment="Rents rose 100% in a year.")
    published(name="Other Org", comment="Rents rose 1000 in a year.")
    assert names_on(page_of(client, f"{A1}?q=100%25")) == ["Percent Org"]
    assert names_on(page_of(client, f"{A1}?q=100_")) == []  # "_" is no wildcard
    assert results(page_of(client, f"{A1}?q=%00%01")) == "2 published positions"  # no search
    assert len(names_on(page_of(client, f"{A1}?q=rents%00"))) == 2


def test_odd_page_values_give_the_first_page(backend, client):
    published(name="First Page Org")
    for query in ("page=abc", "page=-1", "page=99999999999999999999", "after=zz", "before=1_x"):
        assert "First Page Org" in names_on(page_of(client, f"{A1}?{query}"))
