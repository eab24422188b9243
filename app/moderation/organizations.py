"""Moderators verify or reject newly registered organisations."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.auth.forms import EmptyForm, organization_type_choices
from app.services import organizations

bp = Blueprint("moderation_organizations", __name__, url_prefix="/moderation/organisations")


@bp.get("/")
@login_required
def pending():  # noqa: ANN201
    return render_template(
        "moderation/organizations.html",
        organizations=organizations.pending_organizations(current_user.id),
        type_labels={choice.value: choice.label for choice in organization_type_choices()},
    )


@bp.post("/<int:organization_id>/verify")
@login_required
def verify(organization_id: int):  # noqa: ANN201
    return _decide(organization_id, approve=True)


@bp.post("/<int:organization_id>/reject")
@login_required
def reject(organization_id: int):  # noqa: ANN201
    return _decide(organization_id, approve=False)


def _decide(organization_id: int, *, approve: bool):  # noqa: ANN202
    if not EmptyForm().validate_on_submit():
        abort(400)
    organizations.verify_organization(current_user.id, organization_id, approve)
    flash(_("Organisation verified.") if approve else _("Organisation rejected."), "success")
    return redirect(url_for("moderation_organizations.pending"))
