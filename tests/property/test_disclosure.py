"""What the public may see of feedback, whatever positions exist: published ones only; a
council-only text, a redacted word, the name, type and country of an anonymous organisation
never reach the public list, and a search never finds a position by any of them.

Every word of every text is a token of its own (q0001z, q0002z, ...), so "never reaches the
public" is a plain search for the token in everything the public is given. Each example writes
its positions in one transaction on the real database and rolls it back.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from app.consultations.feedback_search import (
    InvalidSearch,
    PublicSearch,
    parse_search,
    search_conditions,
)
from app.extensions import db
from app.feedback.published import published_feedback_after, published_page
from app.models import (
    Attribution,
    Disclosure,
    Feedback,
    FeedbackState,
    Organization,
    OrganizationType,
    Stance,
)
from app.models.moderation import Redaction
from tests import factories

TEXT_FIELDS = ("comment", "amendment")
KINDS = (OrganizationType.NGO, OrganizationType.ACADEMIC, OrganizationType.WORKERS)
COUNTRIES = ("MX", "GT", "CA")
MOMENTS = [datetime(2026, 3, 1, tzinfo=UTC) + timedelta(hours=h) for h in (0, 0, 1, 5)]

redaction = st.tuples(
    st.sampled_from(TEXT_FIELDS),
    st.integers(0, 5),  # first word hidden
    st.integers(0, 2),  # and how many more
    st.booleans(),  # reverted since
)
position = st.fixed_dictionaries(
    {
        "organisation": st.integers(0, 3),
        "state": st.sampled_from(
            [FeedbackState.PUBLISHED] * 3 + [s for s in FeedbackState if s != "published"]
        ),
        "attribution": st.sampled_from(Attribution),
        "words": st.tuples(st.integers(0, 6), st.integers(0, 4)),  # comment, amendment
        "disclosures": st.tuples(st.sampled_from(Disclosure), st.sampled_from(Disclosure)),
        "redactions": st.lists(redaction, max_size=3),
        "published_at": st.sampled_from(MOMENTS),
    }
)
organisations = st.lists(
    st.tuples(st.sampled_from(KINDS), st.sampled_from(COUNTRIES)), min_size=4, max_size=4
)


@dataclass
class Written:
    """The positions of one example, and what the public may and may not read of them."""

    published: set[int] = field(default_factory=set)
    visible: dict[str, int] = field(default_factory=dict)  # token -> the position showing it
    hidden: set[str] = field(default_factory=set)
    named_kinds: set[tuple[int, str, str]] = field(default_factory=set)  # (id, type, country)


def redact(row: Feedback, words: dict[str, list[str]], specs: list) -> dict[str, set[str]]:
    """Redact whole words of the row's texts as `specs` say; the words each field still hides
    (those of the reverted redactions show again, unless another hides them too)."""
    hidden: dict[str, set[str]] = {name: set() for name in TEXT_FIELDS}
    for name, first, more, reverted in specs:
        found = words[name]
        if first >= len(found):
            continue
        last = min(len(found) - 1, first + more)
        db.session.add(
            Redaction(
                feedback_id=row.id,
                field=name,
                start=sum(len(word) + 1 for word in found[:first]),
                end=sum(len(word) + 1 for word in found[: last + 1]) - 1,
                reason="Personal data",
                reverted_at=datetime.now(UTC) if reverted else None,
            )
        )
        if not reverted:
            hidden[name].update(found[first : last + 1])
    return hidden


def write(item, kinds: list, positions: list[dict]) -> Written:  # noqa: ANN001 - an Item
    """Insert the example's organisations and positions (no commit) and note what is public."""
    tokens = (f"q{n:04d}z" for n in itertools.count(1))
    orgs = [
        Organization(name=f"Organisation {next(tokens)}", type=kind, country=country)
        for kind, country in kinds
    ]
    db.session.add_all(orgs)
    db.session.flush()
    written = Written()
    seen: set[tuple[int, int]] = set()
    for spec in positions:
        org = orgs[spec["organisation"]]
        if (org.id, item.id) in seen:  # one position per organisation and item
            continue
        seen.add((org.id, item.id))
        words = {
            name: [next(tokens) for _ in range(n)] for name, n in zip(TEXT_FIELDS, spec["words"])
        }
        row = Feedback(
            reference=f"R-{next(tokens)}",
            item_id=item.id,
            item_version_id=item.versions[0].id,
            organization_id=org.id,
            state=spec["state"],
            stance=Stance.SUPPORT,
            priority=3,
            comment=" ".join(words["comment"]),
            amendment=" ".join(words["amendment"]),
            comment_disclosure=spec["disclosures"][0],
            amendment_disclosure=spec["disclosures"][1],
            attribution=spec["attribution"],
            submitted_at=spec["published_at"],
            published_at=spec["published_at"] if spec["state"] is FeedbackState.PUBLISHED else None,
        )
        db.session.add(row)
        db.session.flush()
        public = row.state is FeedbackState.PUBLISHED
        hidden_words = redact(row, words, spec["redactions"])
        for name in TEXT_FIELDS:
            shown = public and getattr(row, f"{name}_disclosure") is Disclosure.PUBLIC
            for word in words[name]:
                if shown and word not in hidden_words[name]:
                    written.visible[word] = row.id
                else:
                    written.hidden.add(word)
        if public:
            written.published.add(row.id)
            written.visible[row.reference] = row.id
        if public and row.attribution is Attribution.NAMED:
            written.named_kinds.add((row.id, org.type.value, org.country))
            written.visible[org.name.split()[-1]] = row.id
    for org in orgs:  # the name of an organisation that is anonymous wherever it is public
        token = org.name.split()[-1]
        if token not in written.visible:
            written.hidden.add(token)
    return written


def public_text(entries: list) -> str:
    """Everything the public is given of these positions, as one text."""
    return "\n".join(repr(entry) for entry in entries)


SETTINGS = settings(
    max_examples=30,  # a transaction per example: thirty cover the cases in a few seconds
    # The item is made once per test; each example writes in a transaction it rolls back.
    suppress_health_check=[HealthCheck.function_scoped_fixture],
    # A failure is reported as found: shrinking through the database would outlast the timeout.
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
)


@pytest.fixture
def item(unseeded):
    with unseeded.app_context():
        made = factories.item()
        yield made  # the examples run inside this app context, on its session
        db.session.rollback()


@SETTINGS
@given(kinds=organisations, positions=st.lists(position, max_size=8))
def test_the_public_list_shows_published_words_and_nothing_hidden(item, kinds, positions):
    try:
        written = write(item, kinds, positions)
        entries = published_feedback_after(item.id, limit=100)
        assert {entry.id for entry in entries} == written.published
        shown = public_text(entries)
        assert {token for token in written.hidden if token in shown} == set()
        for token, row_id in written.visible.items():
            assert token in shown, (token, row_id)
        for entry in entries:
            if entry.organization is None:  # anonymous: nothing says who or where
                assert entry.organization_type is None and entry.organization_country is None
                assert entry.cosigners == []
    finally:
        db.session.rollback()


@SETTINGS
@given(kinds=organisations, positions=st.lists(position, max_size=8), data=st.data())
def test_a_search_never_finds_a_position_by_what_the_public_cannot_read(
    item, kinds, positions, data
):
    try:
        written = write(item, kinds, positions)

        def found(search: PublicSearch) -> set[int]:
            conditions = search_conditions(item.id, search)
            page = published_page(item.id, per_page=100, where=conditions)
            assert page.total == len(page.entries)
            return {entry.id for entry in page.entries}

        if written.hidden:
            secret = data.draw(st.sampled_from(sorted(written.hidden)), label="hidden word")
            assert found(PublicSearch(q=secret)) == set()
        if written.visible:
            word = data.draw(st.sampled_from(sorted(written.visible)), label="visible word")
            assert written.visible[word] in found(PublicSearch(q=word))
        kind = data.draw(st.sampled_from(KINDS), label="type").value
        country = data.draw(st.sampled_from(COUNTRIES), label="country")
        named = written.named_kinds
        assert found(PublicSearch(type=kind)) == {i for i, k, _c in named if k == kind}
        assert found(PublicSearch(country=country)) == {i for i, _k, c in named if c == country}
    finally:
        db.session.rollback()


SEARCH_PARAMETERS = ("q", "stance", "language", "type", "country")


@given(st.dictionaries(st.sampled_from(SEARCH_PARAMETERS), st.text(max_size=250)))
def test_any_search_typed_is_run_or_refused_naming_the_parameter(babel_app, args):
    with babel_app.app_context():
        try:
            search = parse_search(args)
        except InvalidSearch as refusal:
            assert set(refusal.errors) <= set(SEARCH_PARAMETERS)
            assert refusal.field in refusal.errors
            return
        assert "\x00" not in search.q and len(search.q) <= 200
        assert parse_search(search.params()) == search  # a page link repeats the same search
