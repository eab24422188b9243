"""Jinja filters: localised dates, sanitised Markdown, and labels for domain values."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import markdown as markdown_lib
import nh3
from flask import Flask
from flask_babel import _get_current_context as babel_context
from flask_babel import (
    format_date,
    format_datetime,
    format_decimal,
    format_percent,
    get_translations,
)
from jinja2 import ChoiceLoader, PackageLoader, PrefixLoader
from markupsafe import Markup

from app import navigation, vocabulary
from app.form_widgets import govuk_field

ALLOWED_TAGS = {"p", "ul", "ol", "li", "strong", "em", "a", "blockquote", "h3", "h4", "br", "code"}


def render_markdown(text: str) -> Markup:
    html = markdown_lib.markdown(text or "", extensions=["sane_lists"])
    return Markup(nh3.clean(html, tags=ALLOWED_TAGS, link_rel="noopener noreferrer nofollow"))  # noqa: S704 - sanitised by nh3


def number(value: float | int | None, decimals: int = 0) -> str:
    """`value` as the reader's locale writes it ("1,234.5", "1 234,5", "1.234,5"); "–" for
    no value (a stance that a report compiled before it existed does not list)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "–"
    if decimals:
        return format_decimal(value, format=f"#,##0.{'0' * decimals}")
    return format_decimal(value)


def signed(value: float | int | None, decimals: int = 0) -> str:
    """A change with its sign ("+3", "-1.5"), as the reader's locale writes numbers."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "–"
    digits = f".{'0' * decimals}" if decimals else ""
    return format_decimal(value, format=f"+#,##0{digits};-#,##0{digits}")


def percent(share: float | None) -> str:
    """A share (0..1) as a whole percentage in the reader's locale ("42 %" in French)."""
    if isinstance(share, bool) or not isinstance(share, int | float):
        return "–"
    return format_percent(share)


def iso_day(value: str | None) -> str:
    """An ISO date or time stored in a report's result, as the reader's locale writes dates."""
    if not value:
        return ""
    moment = datetime.fromisoformat(value)
    return format_date(moment, "long")


def text_lang(texts: dict[str, str] | None, locale: str) -> str:
    """The language a localised text is shown in: the reader's, or English as the fallback."""
    return locale if (texts or {}).get(locale) else "en"


def _translations():  # noqa: ANN202 - babel's Translations
    """The catalogue of the current locale, looked up once per locale and request.

    Flask-Babel's own template callables walk its context, domain and locale on every string
    (about 0.2 ms each): the moderation queue's 400 strings cost more than its queries. The
    memo is keyed by the locale object, which `force_locale` replaces, so a mail rendered in
    its recipient's language inside a request still gets that language's strings."""
    context = babel_context()
    if context is None:
        return get_translations()
    memo = getattr(context, "consulta_translations", None)
    locale = getattr(context, "babel_locale", None)
    if memo is not None and locale is not None and memo[0] is locale:
        return memo[1]
    translations = get_translations()
    context.consulta_translations = (getattr(context, "babel_locale", None), translations)
    return translations


def use_design_system(app: Flask) -> None:
    """GOV.UK Frontend's Jinja macros and WTForms widgets beside our templates:
    `{% from "govuk_frontend_jinja/components/button/macro.html" import govukButton %}`, and
    `form.field(params={...})` for a field built with a `govuk_frontend_wtf` widget. The CSS
    and scripts they need are built into static/vendor by scripts/build-frontend."""
    from govuk_frontend_wtf.main import WTFormsHelpers

    app.jinja_loader = ChoiceLoader(
        [
            app.jinja_loader,
            PrefixLoader(
                {
                    "govuk_frontend_jinja": PackageLoader("govuk_frontend_jinja"),
                    "govuk_frontend_wtf": PackageLoader("govuk_frontend_wtf"),
                }
            ),
        ]
    )
    WTFormsHelpers(app)  # the `wtforms_errors(form)` global for govukErrorSummary


def register_template_filters(app: Flask) -> None:
    use_design_system(app)
    app.jinja_env.install_gettext_callables(
        gettext=lambda s: _translations().ugettext(s),
        ngettext=lambda s, p, n: _translations().ungettext(s, p, n),
        newstyle=True,
        pgettext=lambda c, s: _translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: _translations().unpgettext(c, s, p, n),
    )
    app.add_template_filter(render_markdown, "markdown")
    app.add_template_global(govuk_field, "govuk_field")
    app.add_template_global(navigation.main_navigation, "main_navigation")
    app.add_template_global(navigation.sub_navigation, "sub_navigation")
    app.add_template_global(text_lang, "text_lang")
    # The report page and its PDF draw their charts through this one global.
    app.add_template_global(_chart_images, "report_chart_images")
    app.add_template_global(_briefing, "report_briefing")
    app.add_template_filter(number, "number")
    app.add_template_filter(percent, "percent")
    app.add_template_filter(signed, "signed")
    app.add_template_filter(iso_day, "iso_day")
    app.add_template_global(vocabulary.STANCES, "STANCES")
    app.add_template_filter(vocabulary.stance_label, "stance_label")
    app.add_template_filter(vocabulary.stance_abbreviation, "stance_abbreviation")
    app.add_template_filter(vocabulary.state_label, "state_label")
    app.add_template_filter(vocabulary.feedback_field_label, "feedback_field_label")
    app.add_template_filter(vocabulary.choice_label, "choice_label")
    app.add_template_filter(vocabulary.decision_label, "decision_label")
    app.add_template_filter(vocabulary.flag_label, "flag_label")
    app.add_template_filter(vocabulary.flag_reason, "flag_reason")
    app.add_template_filter(vocabulary.report_status_label, "report_status_label")
    app.add_template_filter(vocabulary.language_name, "language_name")
    app.add_template_filter(vocabulary.verification_label, "verification_label")
    app.add_template_filter(vocabulary.population_label, "population_label")
    app.add_template_filter(vocabulary.country_name, "country_name")
    app.add_template_filter(vocabulary.stage_label, "report_stage_label")
    app.add_template_filter(
        lambda value: format_date(value, "medium") if isinstance(value, datetime) else "",
        "format_date_medium",
    )
    app.add_template_filter(
        lambda value: format_datetime(value, "medium") if isinstance(value, datetime) else "",
        "format_datetime_medium",
    )


def _chart_images(result: Mapping[str, Any]) -> dict[str, dict[str, str]]:
    """Matplotlib is imported when a report is drawn, not at every process's start."""
    from app.reports import charts

    return charts.chart_images(result)


def _briefing(result: Mapping[str, Any]) -> dict[str, Any]:
    from app.reports.briefing import briefing

    return briefing(result)
