"""The signed-in member's organisation: members; for its lead, requests and invitations."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.accounts import services as accounts
from app.accounts.auth_forms import EmptyForm
from app.errors import Conflict
from app.extensions import limiter
from app.organizations import services as organizations
from app.organizations.forms import InviteColleagueForm

bp = Blueprint("organizations", __name__, url_prefix="/organisation")


@bp.get("/")
@login_required
def mine():  # noqa: ANN201
    if current_user.organization_id is None:
        return render_template("organizations/none.html")
    return render_template(
        "organizations/mine.html",
        overview=organizations.overview(current_user.id),
        invite_form=InviteColleagueForm(),
    )


def _inviter_key() -> str:
    return f"invite:{current_user.get_id().partition(':')[0]}"


@bp.post("/invitations")
@login_required
@limiter.limit("30/day", key_func=_inviter_key)  # invitations send mail: no mass mailing
def invite():  # noqa: ANN201
    organizations.colleague_inviter(current_user.id)  # before the form's fields are read
    form = InviteColleagueForm()
    if form.validate_on_submit():
        try:
            accounts.invite_colleague(current_user.id, form.email.data)
        except Conflict as error:
            form.email.errors = [*form.email.errors, error.message]
        else:
            flash(_("Invitation sent to %(email)s.", email=form.email.data), "success")
            return redirect(url_for("organizations.mine"))
    overview = organizations.overview(current_user.id)
    return render_template("organizations/mine.html", overview=overview, invite_form=form), 422


@bp.post("/join-requests/<int:request_id>")
@login_required
def decide(request_id: int):  # noqa: ANN201
    if EmptyForm().validate_on_submit():
        approve = request.form.get("decision") == "approve"
        organizations.decide_join_request(current_user.id, request_id, approve)
        flash(_("Request approved.") if approve else _("Request declined."), "success")
    return redirect(url_for("organizations.mine"))
