"""The platform's words in one place: stances, states, flags, decisions, choices and stages,
their order and their labels in the reader's language.

Pages (through the template filters), forms, the API, report files and charts all take their
labels from here; the analysis layer, which imports nothing of Flask, keeps its own copy of the
stance order, and a test holds it equal to `STANCES`."""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Callable

from flask_babel import get_locale, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms.fields.choices import SelectChoice

from app.models import Disclosure, OrganizationType, Stance
from app.models.organization import INTERNATIONAL_COUNTRY
from app.organizations.countries import country_codes

# The order stances are listed and charted in everywhere.
STANCES = tuple(stance.value for stance in Stance)


STANCE_LABELS = {
    "support": _l("Support"),
    "support_with_amendments": _l("Support with amendments"),
    "neutral": _l("Neutral"),
    "oppose": _l("Oppose"),
    "no_position": _l("No overall position"),
}


def stance_label(value: str) -> str:
    return str(STANCE_LABELS.get(value, value))


def stance_abbreviation(value: str) -> str:
    """The one- or two-letter form the stance matrix prints (its cell says the full label)."""
    return {
        "support": _("S"),
        "support_with_amendments": _("SA"),
        "neutral": _("N"),
        "oppose": _("O"),
        "no_position": _("NP"),
    }.get(value, value)


def state_label(value: str) -> str:
    return {
        "draft": _("Draft"),
        "submitted": _("Submitted, awaiting review"),
        "published": _("Published"),
        "rejected": _("Rejected"),
        "changes_requested": _("Changes requested"),
        "withdrawn": _("Withdrawn"),
        "none": _("Not started"),
    }.get(value, value)


def flag_label(value: str) -> str:
    return {
        "personal_data": _("Personal data"),
        "links": _("Links"),
        "profanity": _("Profanity"),
        "campaign": _("Campaign"),
        "unverified_organization": _("Unverified organisation"),
        "short_text": _("Very short text"),
    }.get(value, value)


def flag_reason(detail: str) -> str:
    """A flag's reason (JSON written by app.moderation.flagging) in the reader's language.

    Flags written before reasons were stored as JSON hold English text: shown as it is.
    """
    try:
        reason = json.loads(detail or "")
    except ValueError:
        return detail
    if not isinstance(reason, dict) or "code" not in reason:
        return detail
    code = reason["code"]
    if code == "campaign":
        if reason.get("size", 0) == 1:
            return _("Was part of a campaign whose other submissions have left it.")
        return _(
            "Part of a campaign of %(size)d near-identical submissions on this item.",
            size=reason["size"],
        )
    if code == "unverified_organization":
        if reason.get("refused"):
            return _("%(name)s was refused verification.", name=reason["name"])
        return _("%(name)s is not verified yet.", name=reason["name"])

    def finding(found: dict) -> str:
        field = _("comment") if found.get("field") == "comment" else _("proposed amendment")
        masked = found.get("masked", "")
        if found["code"] == "email":
            return _("an email address (%(masked)s) in the %(field)s", masked=masked, field=field)
        if found["code"] == "phone":
            return _("a phone number (%(masked)s) in the %(field)s", masked=masked, field=field)
        if found["code"] == "id_number":
            return _(
                "an identity document number (%(masked)s) in the %(field)s",
                masked=masked,
                field=field,
            )
        if found["code"] == "link":
            return _("a link to %(host)s in the %(field)s", host=masked, field=field)
        if found["code"] == "profanity":
            return _("%(words)s in the %(field)s", words=masked, field=field)
        if found["code"] == "short_text":
            return ngettext(
                "The comment is very short (%(num)d letter).",
                "The comment is very short (%(num)d letters).",
                int(found["letters"]),
            )
        return str(found["code"])

    shown = "; ".join(finding(found) for found in reason.get("found", []))
    if reason.get("more"):
        shown += " " + ngettext("and %(num)d more", "and %(num)d more", reason["more"])
    if code == "personal_data":
        return _("Personal data in public text: %(found)s.", found=shown)
    if code == "links":
        return _("Links in public text: %(found)s.", found=shown)
    if code == "profanity":
        return _("Profanity in public text: %(found)s.", found=shown)
    return shown


def decision_label(value: str) -> str:
    return {
        "accepted": _("Accepted"),
        "partly_accepted": _("Partly accepted"),
        "not_accepted": _("Not accepted"),
        "under_consideration": _("Under consideration"),
    }.get(value, value)


def feedback_field_label(name: str) -> str:
    return {
        "state": _("Status"),
        "stance": _("Stance"),
        "priority": _("Priority"),
        "affected_populations": _("Affected populations"),
        "countries": _("Countries concerned"),
        "comment": _("Comment"),
        "comment_disclosure": _("Who may read the comment"),
        "amendment": _("Proposed amendment"),
        "amendment_disclosure": _("Who may read the amendment"),
        "evidence_links": _("Evidence links"),
        "attribution": _("Attribution"),
        "item_version_id": _("Text version answered"),
        "attachments": _("Attached files"),
    }.get(name, name)


CHOICE_LABELS = {
    "public": _l("Public"),
    "council_only": _l("For the council only"),
    "named": _l("Named"),
    "anonymous": _l("Anonymous"),
}


def choice_label(value: str) -> str:
    """Labels of the disclosure and attribution choices."""
    return str(CHOICE_LABELS.get(value, value))


def verification_label(value: str) -> str:
    return {
        "pending": _("Waiting for verification"),
        "verified": _("Verified"),
        "rejected": _("Not verified"),
    }.get(value, value)


def report_status_label(value: str) -> str:
    return {
        "queued": _("Queued"),
        "running": _("Running"),
        "done": _("Done"),
        "failed": _("Failed"),
    }.get(value, value)


def stage_label(stage: str) -> str:
    labels = {
        "queued": _("Waiting for a worker"),
        "loading": _("Loading submissions"),
        "counting": _("Counting stances and priorities"),
        "reading": _("Reading the submissions"),
        "items": _("Reading each item's submissions"),
        "assembling": _("Putting the items together"),
        "themes": _("Finding themes"),
        "summarising": _("Summarising"),
        "coalitions": _("Finding coalitions"),
        "rendering": _("Writing the PDF, CSV and XLSX files"),
        # Timings of a finished report; the items' stages are summed over their parts.
        "items_reading": _("Reading each item's submissions (all items)"),
        "items_themes": _("Finding themes (all items)"),
        "items_summarising": _("Summarising (all items)"),
        "merging": _("Merging the items' counts"),
        "context": _("Responses, comparison and references"),
        "csv": _("CSV file"),
        "xlsx": _("XLSX file"),
        "pdf": _("PDF file"),
        "retrying": _("Retrying after an error"),
        "done": _("Done"),
        "failed": _("Failed"),
    }
    return labels.get(stage, stage)


def retry_label(attempt: int, attempts: int) -> str:
    """A job queued again after a failure or a lost worker, waiting for its next attempt."""
    return _(
        "Waiting to be retried (attempt %(attempt)s of %(attempts)s)",
        attempt=attempt,
        attempts=attempts,
    )


def population_label(value: str) -> str:
    return str(population_labels().get(value, value))


def country_name(code: str) -> str:
    """A country's name in the reader's language ("MX" -> "Mexico"); an organisation working
    across countries is "International / several countries", never its stored code."""
    if code == INTERNATIONAL_COUNTRY:
        return _("International / several countries")
    return get_locale().territories.get(code, code)


def _sorting_key(name: str) -> str:
    """Accents aside, so that "Égypte" sorts among the E's."""
    decomposed = unicodedata.normalize("NFKD", name.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def organisation_country_choices() -> list[SelectChoice]:
    """What an organisation may give as its country: international first (it is not in the
    alphabet of the names), then every country by its name in the reader's language."""
    names = get_locale().territories
    countries = sorted(
        (SelectChoice(code, names.get(code, code)) for code in country_codes()),
        key=lambda choice: _sorting_key(choice.label),
    )
    return [
        SelectChoice("", _("Choose a country")),
        SelectChoice(INTERNATIONAL_COUNTRY, country_name(INTERNATIONAL_COUNTRY)),
        *countries,
    ]


ORGANIZATION_TYPE_LABELS = {
    OrganizationType.NGO.value: _l("Non-governmental organisation"),
    OrganizationType.MIGRANT_LED.value: _l("Migrant-led or diaspora organisation"),
    OrganizationType.FAITH_BASED.value: _l("Faith-based organisation"),
    OrganizationType.ACADEMIC.value: _l("Academic or research centre"),
    OrganizationType.LEGAL_AID.value: _l("Legal aid provider"),
    OrganizationType.EMPLOYER.value: _l("Employer or business association"),
    OrganizationType.WORKERS.value: _l("Workers' organisation"),
    OrganizationType.INTERNATIONAL.value: _l("International organisation"),
    OrganizationType.GOVERNMENT.value: _l("Government body"),
    OrganizationType.OTHER.value: _l("Other"),
}


def organization_type_label(value: str) -> str:
    return str(ORGANIZATION_TYPE_LABELS.get(value, value))


# The report's language codes that are not languages (app.analysis.figures).
LANGUAGE_SPECIAL = {
    "no_text": _l("No text"),
    "unrecognised": _l("Language not recognised"),
    "unknown": _l("Unknown language"),
}


def language_name(code: str) -> str:
    """A language's name in the reader's language ("es" -> "Spanish"), or the report's words
    for a respondent without text or whose language was not recognised."""
    if code in LANGUAGE_SPECIAL:
        return str(LANGUAGE_SPECIAL[code])
    name = get_locale().languages.get(code)
    return name[:1].upper() + name[1:] if name else code


def stance_choices() -> list[SelectChoice]:
    return [SelectChoice(value, STANCE_LABELS[value]) for value in STANCES]


def population_labels() -> dict[str, str]:
    return {
        "asylum_seekers": _l("Asylum seekers"),
        "refugees": _l("Refugees"),
        "labour_migrants": _l("Labour migrants"),
        "unaccompanied_children": _l("Unaccompanied children"),
        "women_and_girls": _l("Women and girls"),
        "indigenous_peoples": _l("Indigenous peoples"),
        "lgbtqi": _l("LGBTQI+ people"),
        "returnees": _l("Returnees"),
        "trafficking_survivors": _l("Trafficking survivors"),
        "host_communities": _l("Host communities"),
    }


def disclosure_choices() -> list[SelectChoice]:
    return [SelectChoice(choice.value, CHOICE_LABELS[choice.value]) for choice in Disclosure]


# The kind of code (report_labels) the groups of each breakdown of a report's figures are.
BREAKDOWN_CODES = {
    "by_organisation_type": "type",
    "by_country": "country",
    "by_population": "population",
}


def breakdown_label(dimension: str, group: str) -> str:
    """A group of a report's breakdown (app.analysis.figures) in the reader's words: "XX" by
    country is "International / several countries", "unknown" is "Not stated"."""
    if group == "unknown":
        return _("Not stated")
    if dimension == "by_verification":
        return _("Verified organisations") if group == "verified" else _("Unverified organisations")
    return report_labels()[BREAKDOWN_CODES[dimension]](group)


def report_labels() -> dict[str, Callable[[str], str]]:
    """The labels a report's files put beside its codes, by kind of code (reports/csv_file)."""
    return {
        "type": organization_type_label,
        "country": country_name,
        "stance": stance_label,
        "population": population_label,
        "language": language_name,
    }
