"""Co-signing: a lead invites organisations to co-sign; invited leads accept or decline."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.accounts.auth_forms import EmptyForm
from app.consultations import services as consultations
from app.errors import Conflict, InvalidState, NotFound
from app.extensions import limiter
from app.feedback import cosignatures, cosigning
from app.feedback.cosigning_forms import InviteCosignerForm
from app.models import Role
from app.parsing import parse_id

bp = Blueprint("cosigning", __name__)


def _inviter_key() -> str:
    return f"cosign-invite:{current_user.get_id().partition(':')[0]}"


@bp.post("/c/<slug>/items/<code>/feedback/cosigners")
@login_required
@limiter.limit("60/day", key_func=_inviter_key)  # every invitation sends mail
def invite(slug: str, code: str):  # noqa: ANN201
    view = consultations.get_item(slug, code)
    back = redirect(url_for("feedback.edit", slug=slug, code=code))
    cosigning.inviting_lead(current_user.id)  # before the form's fields are read
    form = InviteCosignerForm()
    if not form.validate_on_submit():
        flash(_("Choose an organisation to invite."), "error")
        return back
    organization_id = parse_id(form.organization_id.data)
    if organization_id is None:
        raise NotFound(_("No such organisation."))
    try:
        cosigner = cosigning.invite(current_user.id, view.item.id, organization_id)
    except (InvalidState, Conflict) as error:
        flash(error.message, "error")
    else:
        flash(_("%(name)s is invited to co-sign.", name=cosigner.organization.name), "success")
    return back


@bp.post("/cosigning/<int:cosigner_id>/withdraw")
@login_required
def withdraw(cosigner_id: int):  # noqa: ANN201
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        item = cosigning.withdraw_invitation(current_user.id, cosigner_id)
    except InvalidState as error:
        flash(error.message, "error")
        return redirect(url_for("cosigning.requests"))
    flash(_("Invitation withdrawn."), "success")
    return redirect(url_for("feedback.edit", slug=item.consultation.slug, code=item.code))


@bp.get("/organisation/cosigning")
@login_required
def requests():  # noqa: ANN201
    if current_user.role is not Role.STAKEHOLDER:
        abort(403)
    organization_id = current_user.organization_id
    return render_template(
        "cosigning/requests.html",
        incoming=cosignatures.requests_for(organization_id, viewer_id=current_user.id)
        if organization_id
        else [],
        outgoing=cosignatures.sent_by(organization_id) if organization_id else [],
        is_lead=bool(current_user.is_lead and organization_id),
        has_organization=organization_id is not None,
    )


@bp.post("/cosigning/<int:cosigner_id>/accept")
@login_required
def accept(cosigner_id: int):  # noqa: ANN201
    return _decide(cosigner_id, accept=True)


@bp.post("/cosigning/<int:cosigner_id>/decline")
@login_required
def decline(cosigner_id: int):  # noqa: ANN201
    return _decide(cosigner_id, accept=False)


def _decide(cosigner_id: int, *, accept: bool):  # noqa: ANN202
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        cosigning.decide(current_user.id, cosigner_id, accept)
    except InvalidState as error:
        flash(error.message, "error")
    else:
        flash(_("You co-sign this position.") if accept else _("Request declined."), "success")
    return redirect(url_for("cosigning.requests"))


@bp.post("/cosigning/<int:cosigner_id>/leave")
@login_required
def leave(cosigner_id: int):  # noqa: ANN201
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        cosigning.leave(current_user.id, cosigner_id)
    except InvalidState as error:
        flash(error.message, "error")
    else:
        flash(_("Your organisation no longer co-signs this position."), "success")
    return redirect(url_for("cosigning.requests"))
