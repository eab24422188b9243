"""Moderators verify, reject, suspend and reinstate organisations."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app import staff
from app.accounts.auth_forms import EmptyForm, organization_type_choices
from app.accounts.permissions import MODERATORS
from app.errors import DomainError, Forbidden, NotFound
from app.moderation import queue_labels
from app.organizations import services as organizations

REASON_MAX = 2000  # the length the services keep of a reason

bp = Blueprint("moderation_organizations", __name__, url_prefix="/moderation/organisations")
bp.before_request(staff.only(*MODERATORS))


def _type_labels() -> dict[str, str]:
    return {choice.value: choice.label for choice in organization_type_choices()}


@bp.get("/")
@login_required
def pending():  # noqa: ANN201
    return render_template(
        "moderation/organizations.html",
        queue=organizations.verification_queue(current_user.id),
        type_labels=_type_labels(),
        reason_max=REASON_MAX,
    )


@bp.get("/<int:organization_id>")
@login_required
def detail(organization_id: int):  # noqa: ANN201
    found = organizations.organization_detail(current_user.id, organization_id)
    return render_template(
        "moderation/organization.html",
        detail=found,
        type_labels=_type_labels(),
        item_titles=queue_labels.titles_of_submissions(
            [line.id for line in found.recent_submissions]
        ),
        reason_max=REASON_MAX,
    )


@bp.post("/<int:organization_id>/verify")
@login_required
def verify(organization_id: int):  # noqa: ANN201
    _require_csrf()
    organizations.verify_organization(current_user.id, organization_id, approve=True)
    flash(_("Organisation verified."), "success")
    return redirect(url_for("moderation_organizations.pending"))


@bp.post("/<int:organization_id>/reject")
@login_required
def reject(organization_id: int):  # noqa: ANN201
    _require_csrf()
    return _with_reason(
        organization_id,
        lambda reason: organizations.verify_organization(
            current_user.id, organization_id, approve=False, reason=reason
        ),
        _("Organisation rejected."),
        url_for("moderation_organizations.pending"),
    )


@bp.post("/<int:organization_id>/suspend")
@login_required
def suspend(organization_id: int):  # noqa: ANN201
    _require_csrf()
    return _with_reason(
        organization_id,
        lambda reason: organizations.suspend_organization(current_user.id, organization_id, reason),
        _("Organisation suspended. Its members cannot submit feedback."),
        url_for("moderation_organizations.detail", organization_id=organization_id),
    )


@bp.post("/<int:organization_id>/unsuspend")
@login_required
def unsuspend(organization_id: int):  # noqa: ANN201
    _require_csrf()
    organizations.unsuspend_organization(current_user.id, organization_id)
    flash(_("Suspension lifted."), "success")
    return redirect(url_for("moderation_organizations.detail", organization_id=organization_id))


def _require_csrf() -> None:
    if not EmptyForm().validate_on_submit():
        abort(400)


def _with_reason(organization_id: int, decide, done: str, next_url: str):  # noqa: ANN001, ANN202
    """Run a decision that needs a reason; a missing reason goes back to the detail page."""
    try:
        decide(request.form.get("reason", ""))
    except (Forbidden, NotFound):
        raise
    except DomainError as error:
        if error.field != "reason":
            raise
        flash(error.message, "error")
        return redirect(url_for("moderation_organizations.detail", organization_id=organization_id))
    flash(done, "success")
    return redirect(next_url)
