"""My account: profile, password, email address, API tokens, data download, deletion."""

from __future__ import annotations

import json

from flask import Blueprint, Response, flash, redirect, render_template, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, logout_user

from app.accounts import profile as profile_service
from app.accounts.auth_forms import EmptyForm
from app.accounts.link_tokens import InvalidToken
from app.accounts.profile_forms import (
    ApiTokenForm,
    ChangeEmailForm,
    ChangePasswordForm,
    DeleteAccountForm,
    ProfileForm,
)
from app.errors import Conflict, DomainError
from app.extensions import limiter
from app.form_errors import attach_domain_error

bp = Blueprint("account", __name__, url_prefix="/account")

# Re-authentication with the current password must not become a way to guess it.
REAUTH_LIMIT = "10/minute;50/hour"


def _page(template: str, form, **context: object):  # noqa: ANN001, ANN202
    return render_template(template, form=form, **context), 422 if form.errors else 200


@bp.route("/", methods=["GET", "POST"])
@login_required
def profile():  # noqa: ANN201
    form = ProfileForm(obj=current_user)
    if form.validate_on_submit():
        try:
            user = profile_service.update_profile(current_user.id, form.name.data, form.locale.data)
        except DomainError as error:
            attach_domain_error(form, error)
        else:
            session["locale"] = user.locale
            flash(_("Your profile has been saved."), "success")
            return redirect(url_for("account.profile"))
    return _page("account/profile.html", form)


@bp.route("/password", methods=["GET", "POST"])
@login_required
@limiter.limit(REAUTH_LIMIT, methods=["POST"])
def change_password():  # noqa: ANN201
    form = ChangePasswordForm()
    if form.validate_on_submit():
        try:
            profile_service.change_password(
                current_user.id,
                form.current_password.data,
                form.new_password.data,
                keep_session=current_user.session_token,
            )
        except DomainError as error:
            attach_domain_error(form, error)
        else:
            flash(
                _("Your password has been changed. Your other sessions have been signed out."),
                "success",
            )
            return redirect(url_for("account.profile"))
    return _page("account/password.html", form)


@bp.route("/email", methods=["GET", "POST"])
@login_required
@limiter.limit(REAUTH_LIMIT, methods=["POST"])
def change_email():  # noqa: ANN201
    form = ChangeEmailForm()
    if form.validate_on_submit():
        try:
            profile_service.request_email_change(
                current_user.id, form.current_password.data, form.new_email.data
            )
        except DomainError as error:
            attach_domain_error(form, error)
        else:
            return render_template("account/email_sent.html", email=form.new_email.data)
    return _page("account/email.html", form)


@bp.get("/email/confirm/<token>")
def confirm_email_change(token: str):  # noqa: ANN201
    try:
        user = profile_service.confirm_email_change(token)
    except InvalidToken as error:
        return render_template("account/email_link_problem.html", message=error.message), 400
    except Conflict as error:
        return render_template("account/email_link_problem.html", message=error.message), 409
    flash(_("Your new email address is confirmed and in use."), "success")
    signed_in_as_owner = current_user.is_authenticated and current_user.id == user.id
    target = "account.profile" if signed_in_as_owner else "auth.login"
    return redirect(url_for(target))


@bp.route("/tokens", methods=["GET", "POST"])
@login_required
def tokens():  # noqa: ANN201
    form = ApiTokenForm()
    created = None
    if form.validate_on_submit():
        try:
            created = profile_service.create_api_token(current_user.id, form.name.data)
        except DomainError as error:
            attach_domain_error(form, error)
        else:
            form = ApiTokenForm(formdata=None)
    page, status = _page(
        "account/tokens.html",
        form,
        tokens=profile_service.api_tokens(current_user.id),
        created=created,
    )
    response = Response(page, status=status)
    response.headers["Cache-Control"] = "no-store"  # the new secret must not stay in a cache
    return response


@bp.post("/tokens/<int:token_id>/revoke")
@login_required
def revoke_token(token_id: int):  # noqa: ANN201
    if EmptyForm().validate_on_submit():
        profile_service.revoke_api_token(current_user.id, token_id)
        flash(_("The token has been revoked."), "success")
    return redirect(url_for("account.tokens"))


@bp.get("/export")
@login_required
def export():  # noqa: ANN201
    data = profile_service.personal_data(current_user.id)
    response = Response(json.dumps(data, ensure_ascii=False, indent=2), mimetype="application/json")
    response.headers["Content-Disposition"] = 'attachment; filename="consulta-my-data.json"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/delete", methods=["GET", "POST"])
@login_required
@limiter.limit(REAUTH_LIMIT, methods=["POST"])
def delete():  # noqa: ANN201
    form = DeleteAccountForm()
    if form.validate_on_submit():
        try:
            profile_service.delete_account(current_user.id, form.current_password.data)
        except Conflict as error:  # the last admin: nothing the form could fix
            flash(error.message, "error")
            return render_template("account/delete.html", form=form), error.status_code
        except DomainError as error:
            attach_domain_error(form, error)
        else:
            logout_user()
            session.clear()
            flash(_("Your account has been deleted."), "success")
            return redirect(url_for("consultations.index"))
    return _page("account/delete.html", form)
