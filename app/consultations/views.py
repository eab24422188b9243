"""Public pages of consultations and their items."""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask_babel import get_locale
from flask_login import current_user

from app.analysis.textdiff import word_diff
from app.consultations import feedback_search
from app.consultations import services as consultations
from app.consultations.timing import window_text
from app.downloads import send_report_file
from app.feedback import positions, published
from app.models.base import utcnow
from app.parsing import parse_id
from app.reports import services as reports
from app.vocabulary import ORGANIZATION_TYPE_LABELS

bp = Blueprint("consultations", __name__)


@bp.get("/")
def index():  # noqa: ANN201
    now = utcnow()
    listed = consultations.list_consultations()
    return render_template(
        "consultations/index.html",
        consultations=listed,
        now=now,
        windows={c.id: window_text(c, now) for c in listed},
        participation=consultations.participating_organisations([c.id for c in listed]),
    )


@bp.get("/c/<slug>")
def show(slug: str):  # noqa: ANN201
    consultation = consultations.get_consultation(slug)
    items = consultations.items_with_current_versions(consultation.id)
    organization_id = current_user.organization_id if current_user.is_authenticated else None
    now = utcnow()
    return render_template(
        "consultations/show.html",
        consultation=consultation,
        items=items,
        state=consultation.state_at(now),
        window=window_text(consultation, now),
        participation=consultations.participating_organisations([consultation.id])[consultation.id],
        tallies=consultations.item_tallies([view.item.id for view in items]),
        progress=consultations.organization_progress(organization_id, consultation.id),
        member=organization_id is not None,
        responses=consultations.published_responses_by_item(consultation.id),
        published_reports=reports.published_reports(consultation.id),
    )


@bp.get("/c/<slug>/reports/<int:report_id>")
def report(slug: str, report_id: int):  # noqa: ANN201
    """A public version of a report that the council published."""
    consultation = consultations.get_consultation(slug)
    found = reports.published_report(consultation.id, report_id)
    return render_template("consultations/report.html", consultation=consultation, report=found)


@bp.get("/c/<slug>/reports/<int:report_id>/download/<fmt>")
def report_download(slug: str, report_id: int, fmt: str):  # noqa: ANN201
    """A published public version's files: published feedback only, redactions applied."""
    consultation = consultations.get_consultation(slug)
    return send_report_file(reports.published_report(consultation.id, report_id), fmt)


@bp.get("/c/<slug>/items/<code>")
def item(slug: str, code: str):  # noqa: ANN201
    view = consultations.get_item(slug, code)
    consultation = view.item.consultation
    own = None
    if current_user.is_authenticated:
        own = positions.feedback_of_organization(current_user.organization_id, view.item.id)
    try:
        search, search_errors = feedback_search.parse_search(request.args), {}
        found = published.published_page(
            view.item.id, **_place(), where=feedback_search.search_conditions(view.item.id, search)
        )
    except feedback_search.InvalidSearch as error:
        search, search_errors, found = error.search, error.errors, None
    now = utcnow()
    return render_template(
        "consultations/item.html",
        consultation=consultation,
        item=view.item,
        version=view.version,
        state=consultation.state_at(now),
        window=window_text(consultation, now),
        tally=consultations.published_tally(view.item.id),
        published=found,
        search=search,
        search_errors=search_errors,
        options=feedback_search.filter_options(view.item.id),
        type_labels=ORGANIZATION_TYPE_LABELS,
        responses=consultations.council_responses(view.item.id),
        own_feedback=own,
        versions=consultations.item_versions(view.item.id),
        locale=str(get_locale()),
    ), (400 if search_errors else 200)


@bp.get("/c/<slug>/items/<code>/versions/<int:number>")
def version(slug: str, code: str, number: int):  # noqa: ANN201
    comparison = consultations.compare_version(slug, code, number)
    locale = str(get_locale())
    previous = comparison.previous
    return render_template(
        "consultations/version.html",
        consultation=comparison.item.consultation,
        item=comparison.item,
        version=comparison.version,
        previous=previous,
        title_diff=word_diff(previous.title_in(locale), comparison.version.title_in(locale))
        if previous
        else None,
        body_diff=word_diff(previous.body_in(locale), comparison.version.body_in(locale))
        if previous
        else None,
        locale=locale,
    )


def _place() -> dict:
    """Where the published list starts: ?after= or ?before= (the cursors of the page links) or
    ?page= (a number). Anything that is not one of these means the first page."""
    for name in ("after", "before"):
        if request.args.get(name):
            try:
                return {name: published.Cursor.parse(request.args[name])}
            except published.InvalidCursor:
                return {}
    return {"page": parse_id(request.args.get("page"))}
