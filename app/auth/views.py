"""Sign-in and sign-out pages."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from app.auth.forms import EmptyForm, LoginForm
from app.extensions import limiter
from app.models import LOCALES, Role
from app.services import accounts

bp = Blueprint("auth", __name__, url_prefix="/auth")

REMEMBER_FOR = timedelta(days=14)


def safe_next(target: str | None) -> str | None:
    """Only local paths: no scheme, no host, no protocol-relative or backslash tricks."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return None
    try:
        parts = urlsplit(target)
    except ValueError:  # e.g. an unbalanced IPv6 bracket
        return None
    return target if not parts.scheme and not parts.netloc else None


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit("10/minute;100/hour", methods=["POST"])
def login():  # noqa: ANN201
    if current_user.is_authenticated:
        return redirect(url_for("consultations.index"))
    form = LoginForm()
    if form.validate_on_submit():
        user = accounts.authenticate(form.email.data, form.password.data)
        if user is None:
            flash(_("The email or password is not right."), "error")
        else:
            next_url = safe_next(request.args.get("next"))
            session.clear()  # a fresh session at sign-in: nothing carried over (fixation)
            remember = form.remember.data and user.role is Role.STAKEHOLDER
            login_user(user, remember=remember, duration=REMEMBER_FOR)
            flash(_("Welcome, %(name)s.", name=user.name), "success")
            return redirect(next_url or url_for("consultations.index"))
    return render_template("auth/login.html", form=form)


@bp.post("/logout")
@login_required
def logout():  # noqa: ANN201
    form = EmptyForm()
    if form.validate_on_submit():
        logout_user()
        session.clear()
        flash(_("You have signed out."), "success")
    return redirect(url_for("consultations.index"))


@bp.post("/locale")
def set_locale():  # noqa: ANN201
    form = EmptyForm()
    chosen = request.form.get("locale", "")
    if form.validate_on_submit() and chosen in LOCALES:
        session["locale"] = chosen
        if current_user.is_authenticated:
            accounts.set_locale(current_user.id, chosen)
    return redirect(safe_next(request.form.get("next")) or url_for("consultations.index"))
