"""Admin pages: consultations, their comment windows and translations, and their items."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.admin.blueprint import bp
from app.admin.forms import (
    ConsultationForm,
    ItemForm,
    fill_localized,
    localized_values,
)
from app.consultations import admin as consultation_admin
from app.consultations import services as consultations
from app.consultations.admin import ConsultationInput, ItemInput
from app.errors import Conflict, DomainError
from app.extensions import db
from app.models import ConsultationState, ItemKind

INVALID = 422


@bp.get("/consultations")
@login_required
def consultation_list():  # noqa: ANN201
    rows = consultation_admin.list_consultations(current_user.id)
    return render_template("admin/consultations.html", consultations=rows)


@bp.route("/consultations/new", methods=["GET", "POST"])
@login_required
def new_consultation():  # noqa: ANN201
    form = ConsultationForm()
    if form.validate_on_submit():
        ok, created = _attempt(
            form,
            lambda: consultation_admin.create_consultation(
                current_user.id, _consultation_input(form)
            ),
        )
        if ok:
            flash(_("Consultation created. Add its items next."), "success")
            return redirect(url_for("admin.edit_consultation", slug=created.slug))
    status = INVALID if form.is_submitted() else 200
    return render_template(
        "admin/consultation_form.html", form=form, consultation=None, items=[]
    ), status


@bp.route("/consultations/<slug>/edit", methods=["GET", "POST"])
@login_required
def edit_consultation(slug: str):  # noqa: ANN201
    consultation = consultation_admin.get_consultation(current_user.id, slug)
    form = ConsultationForm()
    form.slug.data = consultation.slug  # fixed once created: links point at it
    if not form.is_submitted():
        _fill_consultation(form, consultation)
    elif form.validate():
        seen = form.seen.data or ""
        ok, changed = _attempt(
            form,
            lambda: consultation_admin.update_consultation(
                current_user.id, slug, _consultation_input(form), seen
            ),
        )
        if ok:
            flash(_("Consultation saved.") if changed else _("Nothing had changed."), "success")
            return redirect(url_for("admin.edit_consultation", slug=slug))
        if form.conflict:
            form.seen.data = consultation_admin.fingerprint(
                consultation_admin.get_consultation(current_user.id, slug)
            )
    status = INVALID if form.is_submitted() else 200
    return render_template(
        "admin/consultation_form.html",
        form=form,
        consultation=consultation,
        items=consultations.items_with_current_versions(consultation.id),
    ), status


@bp.route("/consultations/<slug>/items/new", methods=["GET", "POST"])
@login_required
def new_item(slug: str):  # noqa: ANN201
    consultation = consultation_admin.get_consultation(current_user.id, slug)
    form = ItemForm()
    if not form.is_submitted():
        form.position.data = len(consultation.items) + 1
    elif form.validate():
        ok, created = _attempt(
            form, lambda: consultation_admin.create_item(current_user.id, slug, _item_input(form))
        )
        if ok:
            flash(_("Item %(code)s published.", code=created.code), "success")
            return redirect(url_for("admin.edit_consultation", slug=slug))
    status = INVALID if form.is_submitted() else 200
    return render_template(
        "admin/item_form.html", form=form, consultation=consultation, item=None, current=None
    ), status


@bp.route("/items/<int:item_id>/edit", methods=["GET", "POST"])
@login_required
def edit_item(item_id: int):  # noqa: ANN201
    item, current = consultation_admin.get_item(current_user.id, item_id)
    form = ItemForm()
    form.code.data = item.code  # fixed once created: feedback and links point at it
    if not form.is_submitted():
        _fill_item(form, item, current)
    elif form.validate():
        seen = _int(form.seen_version.data)
        ok, number = _attempt(
            form,
            lambda: consultation_admin.update_item(
                current_user.id, item_id, _item_input(form), seen
            ),
        )
        if ok:
            if number:
                flash(_("Version %(number)s published.", number=number), "success")
            else:
                flash(_("Saved. The text did not change, so there is no new version."), "success")
            return redirect(url_for("admin.edit_consultation", slug=item.consultation.slug))
        if form.conflict:
            item, current = consultation_admin.get_item(current_user.id, item_id)
            form.seen_version.data = str(item.current_version)
    status = INVALID if form.is_submitted() else 200
    return render_template(
        "admin/item_form.html",
        form=form,
        consultation=item.consultation,
        item=item,
        current=current,
    ), status


# --- form <-> service ------------------------------------------------------------------------


def _attempt(form, call):  # noqa: ANN001, ANN202
    """(True, result) of the service `call`, or (False, None) when it refused: the refusal
    becomes an error on its field, or a conflict message above the form, and the typed text
    stays in the form."""
    form.conflict = None
    try:
        return True, call()
    except Conflict as error:
        db.session.rollback()
        form.conflict = error.message
    except DomainError as error:
        db.session.rollback()
        if error.field is None or error.field not in form:
            raise
        form[error.field].errors = [*form[error.field].errors, error.message]
    return False, None


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC)


def _consultation_input(form: ConsultationForm) -> ConsultationInput:
    return ConsultationInput(
        slug=(form.slug.data or "").strip(),
        title=localized_values(form, "title"),
        summary=localized_values(form, "summary"),
        opens_at=_utc(form.opens_at.data),
        closes_at=_utc(form.closes_at.data),
        state_override=ConsultationState(form.state_override.data)
        if form.state_override.data
        else None,
    )


def _fill_consultation(form: ConsultationForm, consultation) -> None:  # noqa: ANN001
    fill_localized(form, "title", consultation.title)
    fill_localized(form, "summary", consultation.summary)
    form.opens_at.data = consultation.opens_at.astimezone(UTC).replace(tzinfo=None)
    form.closes_at.data = consultation.closes_at.astimezone(UTC).replace(tzinfo=None)
    override = consultation.state_override
    form.state_override.data = override.value if override else ""
    form.seen.data = consultation_admin.fingerprint(consultation)


def _item_input(form: ItemForm) -> ItemInput:
    return ItemInput(
        code=(form.code.data or "").strip(),
        kind=ItemKind(form.kind.data),
        position=form.position.data,
        source=localized_values(form, "source"),
        title=localized_values(form, "title"),
        body=localized_values(form, "body"),
        change_note=form.change_note.data or "",
    )


def _fill_item(form: ItemForm, item, current) -> None:  # noqa: ANN001
    form.kind.data = item.kind.value
    form.position.data = item.position
    fill_localized(form, "source", item.source)
    fill_localized(form, "title", current.title)
    fill_localized(form, "body", current.body)
    form.seen_version.data = str(item.current_version)


def _int(raw: str | None) -> int:
    try:
        return int(raw or "")
    except ValueError:
        return -1  # a tampered field: treated as a stale form
