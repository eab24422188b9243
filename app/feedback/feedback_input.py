"""What an organisation sends as its position, and the one check of it.

Every way in (the web form, its autosave, the API, the API's batch) hands a `FeedbackInput` to
the feedback service, which checks it here before anything is stored; the form and the API only
report these faults, each on its field, all at once."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from flask_babel import format_number
from flask_babel import gettext as _

from app import errors
from app.models import Attribution, Disclosure, Feedback, Stance
from app.models.feedback import AFFECTED_POPULATIONS, REGION_COUNTRIES
from app.parsing import unencodable

TEXT_LIMIT = 20_000  # characters of a comment or a proposed amendment
MAX_EVIDENCE_LINKS = 10
MAX_LINK_LENGTH = 500  # characters of one evidence link
PRIORITIES = range(1, 6)
# Links are shown as links on the public page: only plain web addresses, whoever calls.
# (Spelt without flags, so the API's document can state it as a JSON Schema pattern too; blanks
# are listed, because Python's \s and ECMAScript's do not agree on control characters.)
_BLANK = r"\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
WEB_ADDRESS_PATTERN = rf"^[Hh][Tt][Tt][Pp][Ss]?://[^{_BLANK}/?#]+[^{_BLANK}]*$"
WEB_ADDRESS = re.compile(WEB_ADDRESS_PATTERN)


@dataclass(frozen=True)
class FeedbackInput:
    stance: Stance | None
    priority: int | None
    comment: str
    affected_populations: tuple[str, ...] = ()
    countries: tuple[str, ...] = ()
    comment_disclosure: Disclosure = Disclosure.PUBLIC
    amendment: str = ""
    amendment_disclosure: Disclosure = Disclosure.PUBLIC
    evidence_links: tuple[str, ...] = ()
    attribution: Attribution = Attribution.NAMED


EMPTY_INPUT = FeedbackInput(stance=None, priority=None, comment="")


class InvalidInput(errors.InvalidInput):
    """The input breaks one or more rules; `faults` names every field at fault."""

    def __init__(self, faults: dict[str, str]) -> None:
        field, message = next(iter(faults.items()))
        super().__init__(message, field=field)
        self.faults = faults


def input_faults(data: FeedbackInput, *, submitting: bool) -> dict[str, str]:
    """Every rule `data` breaks, as {field: message}; empty when it may be stored (and, when
    `submitting`, submitted as the organisation's position)."""
    faults: dict[str, str] = {}
    if submitting and data.stance is None:
        faults["stance"] = _("Choose a stance.")
    missing_priority = submitting and data.priority is None
    if missing_priority or (data.priority is not None and data.priority not in PRIORITIES):
        faults["priority"] = _("Give a priority from 1 to 5.")
    if not set(data.affected_populations) <= set(AFFECTED_POPULATIONS):
        faults["affected_populations"] = _("Choose affected populations from the list.")
    if not set(data.countries) <= set(REGION_COUNTRIES):
        faults["countries"] = _("Choose countries from the list.")
    for field, text in (("comment", data.comment), ("amendment", data.amendment)):
        if len(text) > TEXT_LIMIT:
            faults[field] = _(
                "Keep this to %(limit)s characters or fewer: it has %(count)s.",
                limit=format_number(TEXT_LIMIT),
                count=format_number(len(text)),
            )
        elif not storable(text):
            faults[field] = _(
                "This text holds a character that cannot be saved (a null character, or half "
                "of an emoji): remove it."
            )
    amendment_needed = submitting and data.stance is Stance.SUPPORT_WITH_AMENDMENTS
    if amendment_needed and not data.amendment.strip() and "amendment" not in faults:
        faults["amendment"] = _("Give the wording you propose when you support with amendments.")
    if len(data.evidence_links) > MAX_EVIDENCE_LINKS:
        faults["evidence_links"] = _("Give at most %(n)s links.", n=MAX_EVIDENCE_LINKS)
    else:
        for link in data.evidence_links:
            if len(link) > MAX_LINK_LENGTH:
                faults["evidence_links"] = _(
                    "Keep each link to %(limit)s characters or fewer.",
                    limit=format_number(MAX_LINK_LENGTH),
                )
                break
            if not (WEB_ADDRESS.fullmatch(link) and storable(link)):
                faults["evidence_links"] = _("This is not a web address: %(link)s", link=link)
                break
    return faults


def storable(text: str) -> bool:
    """Whether PostgreSQL can hold `text`: it refuses a NUL, and a lone surrogate (which JSON
    can carry as "\\ud800") has no UTF-8 at all."""
    return "\x00" not in text and not unencodable(text)


def check_input(data: FeedbackInput, *, submitting: bool) -> None:
    """Raise InvalidInput naming every field at fault."""
    faults = input_faults(data, submitting=submitting)
    if faults:
        raise InvalidInput(faults)


def stored_content(data: FeedbackInput) -> dict[str, object]:
    """The feedback's fields as they are stored."""
    return {
        "stance": data.stance,
        "priority": data.priority,
        "comment": data.comment.strip(),
        "comment_disclosure": data.comment_disclosure,
        "amendment": data.amendment.strip(),
        "amendment_disclosure": data.amendment_disclosure,
        "affected_populations": sorted(set(data.affected_populations)),
        "countries": sorted(set(data.countries)),
        "evidence_links": list(data.evidence_links),
        "attribution": data.attribution,
    }


def input_snapshot(data: FeedbackInput) -> dict[str, object]:
    """What `data` would store, in the shape of a revision's snapshot (for comparisons)."""
    return {
        name: value.value if isinstance(value, enum.Enum) else value
        for name, value in stored_content(data).items()
    }


def content_of(feedback: Feedback) -> dict[str, object]:
    return {name: getattr(feedback, name) for name in stored_content(EMPTY_INPUT)}


def apply_input(feedback: Feedback, data: FeedbackInput) -> None:
    for name, value in stored_content(data).items():
        setattr(feedback, name, value)
