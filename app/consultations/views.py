"""Public pages of consultations and their items."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_babel import get_locale
from flask_login import current_user

from app.models.base import utcnow
from app.services import consultations, feedback

bp = Blueprint("consultations", __name__)


@bp.get("/")
def index():  # noqa: ANN201
    return render_template(
        "consultations/index.html", consultations=consultations.list_consultations(), now=utcnow()
    )


@bp.get("/c/<slug>")
def show(slug: str):  # noqa: ANN201
    consultation = consultations.get_consultation(slug)
    items = consultations.items_with_current_versions(consultation.id)
    return render_template(
        "consultations/show.html",
        consultation=consultation,
        items=items,
        state=consultation.state_at(utcnow()),
    )


@bp.get("/c/<slug>/items/<code>")
def item(slug: str, code: str):  # noqa: ANN201
    view = consultations.get_item(slug, code)
    consultation = view.item.consultation
    own = None
    if current_user.is_authenticated:
        own = feedback.feedback_of_organization(current_user.organization_id, view.item.id)
    return render_template(
        "consultations/item.html",
        consultation=consultation,
        item=view.item,
        version=view.version,
        state=consultation.state_at(utcnow()),
        tally=consultations.published_tally(view.item.id),
        published=feedback.published_feedback(view.item.id),
        own_feedback=own,
        locale=str(get_locale()),
    )
