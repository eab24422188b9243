"""Admin pages: who is invited to answer a consultation, by when, and whether they did."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import DateField, EmailField, SelectField
from wtforms.validators import InputRequired, Length

from app.accounts.permissions import acting_user
from app.admin.blueprint import bp
from app.consultations import invitations
from app.errors import DomainError
from app.extensions import db
from app.models import Consultation, Organization, Role

INVALID = 422


def _organization_id(value: object) -> int | None:
    if value in (None, "", "None"):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return -1  # not among the choices: the field reports it


class InvitationForm(FlaskForm):
    email = EmailField(_l("Email address"), validators=[InputRequired(), Length(max=254)])
    deadline = DateField(_l("Deadline"), validators=[InputRequired()])
    organization = SelectField(_l("Organisation (optional)"), coerce=_organization_id)


def _deadline(day: date, consultation: Consultation) -> datetime:
    """The end of `day` (UTC), or the consultation's close when it closes that day."""
    moment = datetime.combine(day, time(23, 59), tzinfo=UTC)
    if day == consultation.closes_at.astimezone(UTC).date():
        return min(moment, consultation.closes_at)
    return moment


@bp.route("/consultations/<slug>/invitations", methods=["GET", "POST"])
@login_required
def invitations_page(slug: str):  # noqa: ANN201
    acting_user(current_user.id, Role.ADMIN)
    consultation = db.session.scalar(select(Consultation).where(Consultation.slug == slug))
    if consultation is None:
        abort(404)
    organizations = db.session.execute(
        select(Organization.id, Organization.name).order_by(Organization.name)
    ).all()
    form = InvitationForm()
    form.organization.choices = [(None, _("No organisation"))] + [
        (row.id, row.name) for row in organizations
    ]
    status = 200
    if form.is_submitted():
        if form.validate():
            try:
                invitations.invite(
                    current_user.id,
                    consultation.id,
                    form.email.data,
                    _deadline(form.deadline.data, consultation),
                    form.organization.data,
                )
            except DomainError as error:
                db.session.rollback()
                if error.field is None or error.field not in form:
                    raise
                form[error.field].errors.append(error.message)
            else:
                flash(_("Invitation sent to %(email)s.", email=form.email.data), "success")
                return redirect(url_for("admin.invitations_page", slug=slug))
        status = INVALID
    return render_template(
        "admin/invitations.html",
        consultation=consultation,
        invitations=invitations.list_invitations(current_user.id, consultation.id),
        form=form,
    ), status
