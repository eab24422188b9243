"""Search and filters over an item's published feedback, as a visitor may use them: free text
over what the public can read, stance, language, and the type and country of the organisations
that gave their name (an anonymous organisation is never found by what it is)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass

from flask_babel import gettext as _
from sqlalchemy import ColumnElement, and_, exists, false, or_, select

from app.analysis.redaction import MARK, apply_redactions
from app.errors import DomainError
from app.extensions import db
from app.feedback.positions import redacted_spans
from app.models import (
    Attribution,
    Disclosure,
    Feedback,
    FeedbackState,
    Organization,
    OrganizationType,
    Redaction,
    Stance,
)

MAX_TEXT = 200
_LANGUAGE = re.compile(r"[a-z]{2,3}")
_COUNTRY = re.compile(r"[A-Z]{2}")
_TEXT_FIELDS = ("comment", "amendment")
# Positions with redactions are matched in Python on their visible text; past this many in one
# item the rest are not searched (redactions are rare: a moderator makes each by hand).
_REDACTED_SCAN = 2000


@dataclass(frozen=True)
class PublicSearch:
    q: str = ""
    stance: str = ""
    language: str = ""
    type: str = ""
    country: str = ""

    @property
    def active(self) -> bool:
        return any(asdict(self).values())

    def params(self) -> dict[str, str]:
        """The GET parameters that repeat this search (for page links)."""
        return {name: value for name, value in asdict(self).items() if value}


class InvalidSearch(DomainError):
    """A search the list cannot run; `errors` names each bad parameter (400)."""

    def __init__(self, errors: dict[str, str], search: PublicSearch) -> None:
        super().__init__(next(iter(errors.values())), field=next(iter(errors)))
        self.errors = errors
        self.search = search


def parse_search(args: Mapping[str, str]) -> PublicSearch:
    """The search in a page's GET parameters; InvalidSearch when one of them is not a value the
    filters offer (its message says which and why)."""
    search = PublicSearch(
        # Control characters (a NUL that PostgreSQL refuses) are no part of any text searched.
        q=" ".join("".join(c for c in args.get("q", "") if c.isprintable() or c.isspace()).split()),
        stance=args.get("stance", "").strip(),
        language=args.get("language", "").strip().lower(),
        type=args.get("type", "").strip(),
        country=args.get("country", "").strip().upper(),
    )
    errors = {}
    if len(search.q) > MAX_TEXT:
        errors["q"] = _("Enter %(num)s characters or fewer to search for.", num=MAX_TEXT)
    if search.stance and search.stance not in {s.value for s in Stance}:
        errors["stance"] = _("Choose a stance from the list.")
    if search.language and not _LANGUAGE.fullmatch(search.language):
        errors["language"] = _("Choose a language from the list.")
    if search.type and search.type not in {t.value for t in OrganizationType}:
        errors["type"] = _("Choose a type of organisation from the list.")
    if search.country and not _COUNTRY.fullmatch(search.country):
        errors["country"] = _("Choose a country from the list.")
    if errors:
        raise InvalidSearch(errors, search)
    return search


def search_conditions(item_id: int, search: PublicSearch) -> tuple[ColumnElement, ...]:
    """SQL conditions on Feedback and its Organization that select what `search` finds."""
    conditions: list[ColumnElement] = []
    named = Feedback.attribution == Attribution.NAMED
    if search.stance:
        conditions.append(Feedback.stance == Stance(search.stance))
    if search.language:
        conditions.append(Feedback.language == search.language)
    if search.type:
        conditions += [named, Organization.type == OrganizationType(search.type)]
    if search.country:
        conditions += [named, Organization.country == search.country]
    if search.q:
        conditions.append(_text_condition(item_id, search.q))
    return tuple(conditions)


def _text_condition(item_id: int, text: str) -> ColumnElement:
    """The text in what the public reads: a public comment or amendment, a named organisation's
    name, the reference. A field with redactions matches only if its redacted text does (found
    in Python among the few such rows), so that a search never reveals a hidden word."""
    pattern = "%" + re.sub(r"([\\%_])", r"\\\1", text) + "%"
    matches = [
        Feedback.reference.ilike(pattern, escape="\\"),
        and_(
            Feedback.attribution == Attribution.NAMED,
            Organization.name.ilike(pattern, escape="\\"),
        ),
    ]
    for field in _TEXT_FIELDS:
        column = getattr(Feedback, field)
        redacted = exists().where(
            Redaction.feedback_id == Feedback.id,
            Redaction.field == field,
            Redaction.reverted_at.is_(None),
        )
        matches.append(
            and_(
                getattr(Feedback, f"{field}_disclosure") == Disclosure.PUBLIC,
                column.ilike(pattern, escape="\\"),
                ~redacted,
            )
        )
    found = _redacted_matches(item_id, text)
    matches.append(Feedback.id.in_(found) if found else false())
    return or_(*matches)


def _redacted_matches(item_id: int, text: str) -> list[int]:
    """Published feedback of the item with redactions whose VISIBLE public text holds `text`.

    Decided on the redacted text alone: the rows are not narrowed by their stored text first
    (that would tell whether the hidden words match), and the mark that stands for hidden words
    is not searchable ("ted" must not find "[redacted]")."""
    candidates = db.session.execute(
        select(
            Feedback.id,
            Feedback.comment,
            Feedback.comment_disclosure,
            Feedback.amendment,
            Feedback.amendment_disclosure,
        )
        .where(
            Feedback.item_id == item_id,
            Feedback.state == FeedbackState.PUBLISHED,
            Feedback.id.in_(select(Redaction.feedback_id).where(Redaction.reverted_at.is_(None))),
        )
        .order_by(Feedback.id)
        .limit(_REDACTED_SCAN)
    ).all()
    spans = redacted_spans([row.id for row in candidates])
    wanted = text.lower()

    def found_in(row, field: str) -> bool:  # noqa: ANN001 - a result row
        if getattr(row, f"{field}_disclosure") is not Disclosure.PUBLIC:
            return False
        shown = apply_redactions(getattr(row, field), spans.get((row.id, field), []))
        return wanted in shown.replace(MARK, "\x00").lower()  # no query holds a control char

    return [row.id for row in candidates if any(found_in(row, f) for f in _TEXT_FIELDS)]


@dataclass(frozen=True)
class FilterOptions:
    languages: list[str]  # the languages of the item's published feedback
    countries: list[str]  # the countries of the named organisations whose feedback is published


def filter_options(item_id: int) -> FilterOptions:
    """What the language and country filters offer: values present in the published list
    (each a range of an index on the published rows)."""
    published = (Feedback.item_id == item_id, Feedback.state == FeedbackState.PUBLISHED)
    languages = db.session.scalars(
        select(Feedback.language)
        .where(*published, Feedback.language.is_not(None))
        .distinct()
        .order_by(Feedback.language)
    ).all()
    countries = db.session.scalars(
        select(Organization.country)
        .join(Feedback, Feedback.organization_id == Organization.id)
        .where(*published, Feedback.attribution == Attribution.NAMED)
        .distinct()
    ).all()
    return FilterOptions(list(languages), list(countries))
