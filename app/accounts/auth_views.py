"""Registration, email confirmation, sign-in and sign-out, password recovery."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from app import security_log
from app.accounts import lockout, sessions
from app.accounts import services as accounts
from app.accounts.auth_forms import (
    EmptyForm,
    ForgotPasswordForm,
    LoginForm,
    RegistrationForm,
    ResetPasswordForm,
)
from app.accounts.link_tokens import InvalidToken
from app.accounts.sessions import REMEMBER_LIFETIME
from app.errors import DomainError
from app.extensions import limiter
from app.form_errors import attach_domain_error
from app.models import LOCALES, OrganizationType, Role
from app.organizations import services as organizations
from app.parsing import parse_id

bp = Blueprint("auth", __name__, url_prefix="/auth")


def safe_next(target: str | None) -> str | None:
    """Only local paths: no scheme, no host, no protocol-relative or backslash tricks, and no
    control character (a CR or LF would end the Location header: a 500, or a split answer)."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return None
    if any(ord(char) < 32 or ord(char) == 127 for char in target):
        return None
    try:
        parts = urlsplit(target)
    except ValueError:  # e.g. an unbalanced IPv6 bracket
        return None
    return target if not parts.scheme and not parts.netloc else None


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit("10/minute;100/hour", methods=["POST"])  # per client address
def login():  # noqa: ANN201
    if current_user.is_authenticated:
        return redirect(url_for("consultations.index"))
    form = LoginForm()
    if form.validate_on_submit():
        email = form.email.data
        locked = lockout.is_locked(email)  # before this attempt, which may be the owner's
        user = sessions.authenticate(email, form.password.data)
        if locked:
            security_log.failed_sign_in(email, "locked", user.id if user else None)
            return _locked_out(form, email, user)
        if user is None:
            lockout.record_failure(email)
            security_log.failed_sign_in(email, "wrong_credentials")
            flash(_("The email or password is not right."), "error")
        elif user.email_confirmed_at is None:
            security_log.failed_sign_in(form.email.data, "unconfirmed", user.id)
            accounts.resend_confirmation(user)
            flash(_("Confirm your email address first: we have sent you a new link."), "error")
        else:
            # Staff accounts are never remembered on a device.
            remember = bool(form.remember.data) and user.role is Role.STAKEHOLDER
            return _sign_in(user, remember=remember)
    return render_template("auth/login.html", form=form)


def _sign_in(user, *, remember: bool):  # noqa: ANN001, ANN202
    next_url = safe_next(request.args.get("next"))
    _fresh_session()  # nothing carried over at sign-in (fixation) but the language
    sessions.start_session(
        user, remember=remember, user_agent=request.headers.get("User-Agent", "")
    )
    login_user(user, remember=remember, duration=REMEMBER_LIFETIME)
    flash(_("Welcome, %(name)s.", name=user.name), "success")
    return redirect(next_url or url_for("consultations.index"))


def _locked_out(form: LoginForm, email: str, user):  # noqa: ANN001, ANN202
    """Too many wrong passwords for this account: no password signs in for a while, but the
    right one mails its owner a sign-in link. The answer is the same either way."""
    if user is not None:
        lockout.mail_sign_in_link(user)
    flash(
        _(
            "Too many wrong passwords have been tried for this account, so its password cannot "
            "be used for a while. If the password you typed is right, we have emailed you a "
            "link that signs you in."
        ),
        "error",
    )
    page = render_template("auth/login.html", form=form)
    return page, 429, {"Retry-After": str(lockout.seconds_locked(email))}


@bp.route("/sign-in/<token>", methods=["GET", "POST"])
@limiter.limit("10/minute", methods=["POST"])
def sign_in_link(token: str):  # noqa: ANN201
    """The link mailed when the right password met a locked account. Opening it shows a button
    (mail scanners that follow links sign nobody in); pressing it signs in, once."""
    form = EmptyForm()
    try:
        if not form.validate_on_submit():
            lockout.check_sign_in_link(token)
            return render_template("auth/sign_in_link.html", form=form)
        user = lockout.use_sign_in_link(token)
    except InvalidToken as error:
        return _token_problem(error, "sign-in")
    return _sign_in(user, remember=False)


@bp.post("/logout")
@login_required
def logout():  # noqa: ANN201
    if EmptyForm().validate_on_submit():
        sessions.end_session(current_user.session_token)
        logout_user()
        _fresh_session()
        flash(_("You have signed out."), "success")
    return redirect(url_for("consultations.index"))


@bp.route("/register", methods=["GET", "POST"])
@limiter.limit("20/hour", methods=["POST"])
def register():  # noqa: ANN201
    form = RegistrationForm()
    form.join_organization_id.choices = organizations.joinable_choices()
    invited_email = None
    token = request.args.get("invitation") or form.invitation.data
    if token:
        try:
            invited_email = accounts.invitation_email(token)
        except InvalidToken as error:
            flash(error.message, "error")
            return redirect(url_for("auth.register"))
        form.invitation.data = token
        form.email.data = invited_email
    elif not form.is_submitted():
        form.locale.data = _current_locale()

    if form.validate_on_submit():
        try:
            accounts.register(_registration_from(form))
        except DomainError as error:
            attach_domain_error(form, error)
        else:
            if invited_email:
                flash(_("Your account is ready: you can sign in now."), "success")
                return redirect(url_for("auth.login"))
            return _check_email(form.email.data, reset=False)
    status = 422 if form.errors else 200
    return render_template("auth/register.html", form=form, invited=bool(invited_email)), status


def _registration_from(form: RegistrationForm) -> accounts.Registration:
    new_organization = None
    join_id = None
    if not form.invitation.data:
        if form.organization_choice.data == "new":
            new_organization = accounts.NewOrganization(
                name=form.organization_name.data,
                type=OrganizationType(form.organization_type.data),
                country=form.organization_country.data,
                website=form.organization_website.data or None,
            )
        else:
            join_id = parse_id(form.join_organization_id.data)
    return accounts.Registration(
        email=form.email.data,
        name=form.name.data,
        password=form.password.data,
        locale=form.locale.data if form.locale.data in LOCALES else "en",
        new_organization=new_organization,
        join_organization_id=join_id,
        invitation_token=form.invitation.data or None,
    )


def _current_locale() -> str:
    from flask_babel import get_locale

    return str(get_locale())


def _check_email(email: str, *, reset: bool):  # noqa: ANN202
    # Redirect after the POST, so reloading the page does not send the form (and a mail) again.
    session["check_email"] = {"email": email, "reset": reset}
    return redirect(url_for("auth.check_email"))


@bp.get("/check-email")
def check_email():  # noqa: ANN201
    sent = session.get("check_email")
    if not sent:
        return redirect(url_for("auth.login"))
    return render_template("auth/check_email.html", email=sent["email"], reset=sent["reset"])


@bp.get("/confirm/<token>")
def confirm_email(token: str):  # noqa: ANN201
    try:
        accounts.confirm_email(token)
    except InvalidToken as error:
        return _token_problem(error, "confirm")
    flash(_("Your email address is confirmed. You can sign in now."), "success")
    return redirect(url_for("auth.login"))


@bp.route("/forgot-password", methods=["GET", "POST"])
@limiter.limit("5/minute;20/hour", methods=["POST"])
def forgot_password():  # noqa: ANN201
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        accounts.request_password_reset(form.email.data)
        # The same answer whether or not the address has an account.
        return _check_email(form.email.data, reset=True)
    return render_template("auth/forgot_password.html", form=form)


@bp.route("/reset-password/<token>", methods=["GET", "POST"])
def reset_password(token: str):  # noqa: ANN201
    return _password_from_link(token, "reset")


@bp.route("/set-password/<token>", methods=["GET", "POST"])
def set_password(token: str):  # noqa: ANN201
    """The link mailed to a lead whose account an admin created (an organisations import)."""
    return _password_from_link(token, "welcome")


def _token_problem(error: InvalidToken, purpose: str):  # noqa: ANN202
    """Why a mailed link cannot be used, and the way on that fits the link: a confirmation
    link leads to signing in (which sends a new one if still needed), a password link to a
    new password link."""
    page = render_template("auth/token_problem.html", message=error.message, purpose=purpose)
    return page, 400


def _password_from_link(token: str, purpose: str):  # noqa: ANN202
    try:
        accounts.check_reset_token(token, purpose)
    except InvalidToken as error:
        return _token_problem(error, purpose)
    form = ResetPasswordForm()
    if form.validate_on_submit():
        try:
            accounts.reset_password(token, form.password.data, purpose)
        except InvalidToken as error:
            return _token_problem(error, purpose)
        except DomainError as error:
            attach_domain_error(form, error)
        else:
            if purpose == "reset":
                flash(_("Your password has been changed. Sign in with the new one."), "success")
            else:
                flash(_("Your password is set. Sign in with it."), "success")
            return redirect(url_for("auth.login"))
    first = purpose == "welcome"
    page = render_template("auth/reset_password.html", form=form, first_password=first)
    return page, 422 if form.errors else 200


def _fresh_session() -> None:
    """An empty session, but for the language the visitor chose for this visit."""
    chosen = session.get("locale")
    session.clear()
    if chosen in LOCALES:
        session["locale"] = chosen


@bp.post("/locale")
def set_locale():  # noqa: ANN201
    form = EmptyForm()
    chosen = request.form.get("locale", "")
    if form.validate_on_submit() and chosen in LOCALES:
        session["locale"] = chosen  # this visit's pages; the account's language is on its page
    return redirect(safe_next(request.form.get("next")) or url_for("consultations.index"))
