"""Jinja filters: localised dates, sanitised Markdown, and labels for domain values."""

from __future__ import annotations

import json
from datetime import datetime

import markdown as markdown_lib
import nh3
from flask import Flask
from flask_babel import format_date, format_datetime, get_locale, ngettext
from flask_babel import gettext as _
from markupsafe import Markup

ALLOWED_TAGS = {"p", "ul", "ol", "li", "strong", "em", "a", "blockquote", "h3", "h4", "br", "code"}


def render_markdown(text: str) -> Markup:
    html = markdown_lib.markdown(text or "", extensions=["sane_lists"])
    return Markup(nh3.clean(html, tags=ALLOWED_TAGS, link_rel="noopener noreferrer nofollow"))  # noqa: S704 - sanitised by nh3


def text_lang(texts: dict[str, str] | None, locale: str) -> str:
    """The language a localised text is shown in: the reader's, or English as the fallback."""
    return locale if (texts or {}).get(locale) else "en"


def stance_label(value: str) -> str:
    return {
        "support": _("Support"),
        "support_with_amendments": _("Support with amendments"),
        "neutral": _("Neutral"),
        "oppose": _("Oppose"),
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
    """A flag's reason (JSON written by app.services.flagging) in the reader's language.

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


def choice_label(value: str) -> str:
    """Labels of the disclosure and attribution choices."""
    return {
        "public": _("Public"),
        "council_only": _("For the council only"),
        "named": _("Named"),
        "anonymous": _("Anonymous"),
    }.get(value, value)


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
    from app.feedback.forms import population_labels

    return str(population_labels().get(value, value))


def country_name(code: str) -> str:
    return get_locale().territories.get(code, code)


def register_template_filters(app: Flask) -> None:
    app.add_template_filter(render_markdown, "markdown")
    app.add_template_global(text_lang, "text_lang")
    app.add_template_filter(stance_label, "stance_label")
    app.add_template_filter(state_label, "state_label")
    app.add_template_filter(feedback_field_label, "feedback_field_label")
    app.add_template_filter(choice_label, "choice_label")
    app.add_template_filter(decision_label, "decision_label")
    app.add_template_filter(flag_label, "flag_label")
    app.add_template_filter(flag_reason, "flag_reason")
    app.add_template_filter(report_status_label, "report_status_label")
    app.add_template_filter(verification_label, "verification_label")
    app.add_template_filter(population_label, "population_label")
    app.add_template_filter(country_name, "country_name")
    app.add_template_filter(stage_label, "report_stage_label")
    app.add_template_filter(
        lambda value: format_date(value, "medium") if isinstance(value, datetime) else "",
        "format_date_medium",
    )
    app.add_template_filter(
        lambda value: format_datetime(value, "medium") if isinstance(value, datetime) else "",
        "format_datetime_medium",
    )
