"""The feedback form of an item, for members of an organisation."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.feedback.forms import FeedbackForm
from app.models import Stance
from app.models.base import utcnow
from app.services import consultations, feedback
from app.services.errors import Conflict, Forbidden, InvalidState

bp = Blueprint("feedback", __name__)


@bp.route("/c/<slug>/items/<code>/feedback", methods=["GET", "POST"])
@login_required
def edit(slug: str, code: str):  # noqa: ANN201
    view = consultations.get_item(slug, code)
    existing = feedback.feedback_of_organization(current_user.organization_id, view.item.id)
    form = FeedbackForm()
    if not form.is_submitted() and existing is not None:
        form.stance.data = existing.stance.value if existing.stance else None
        form.priority.data = existing.priority
        form.comment.data = existing.comment
        form.lock_version.data = str(existing.lock_version)

    if form.validate_on_submit():
        submitting = bool(form.submit.data)
        if not submitting or form.validate_for_submission():
            data = feedback.FeedbackInput(
                stance=Stance(form.stance.data) if form.stance.data else None,
                priority=form.priority.data,
                comment=form.comment.data or "",
            )
            lock = int(form.lock_version.data) if form.lock_version.data else None
            try:
                saved = feedback.save_feedback(
                    current_user.id, view.item.id, data, submit=submitting, lock_version=lock
                )
            except (Conflict, InvalidState, Forbidden) as error:
                flash(error.message, "error")  # re-render below, keeping what was typed
            else:
                if submitting:
                    flash(
                        _(
                            "Thank you. Your feedback was submitted with reference %(ref)s.",
                            ref=saved.reference,
                        ),
                        "success",
                    )
                    return redirect(url_for("consultations.item", slug=slug, code=code))
                flash(_("Draft saved."), "success")
                return redirect(url_for("feedback.edit", slug=slug, code=code))

    return render_template(
        "feedback/edit.html",
        form=form,
        item=view.item,
        version=view.version,
        consultation=view.item.consultation,
        existing=existing,
        state=view.item.consultation.state_at(utcnow()),
    ), (200 if not form.errors else 422)
