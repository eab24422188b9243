"""Jinja filters: localised dates, sanitised Markdown, and labels for domain values."""

from __future__ import annotations

from datetime import datetime

import markdown as markdown_lib
import nh3
from flask import Flask
from flask_babel import format_date, format_datetime, get_locale
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
        "summarising": _("Summarising"),
        "retrying": _("Retrying after an error"),
        "done": _("Done"),
        "failed": _("Failed"),
    }
    return labels.get(stage, stage)


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
