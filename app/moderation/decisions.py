"""Moderators' decisions on one submission: publish and reject."""

from __future__ import annotations

from flask import abort, flash, redirect, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.moderation.forms import DecisionForm, RejectForm
from app.moderation.views import bp
from app.services import moderation


@bp.post("/<int:feedback_id>/publish")
@login_required
def publish(feedback_id: int):  # noqa: ANN201
    form = DecisionForm()
    if not form.validate_on_submit():
        abort(400)
    moderation.publish_feedback(current_user.id, feedback_id, form.lock_version.data)
    flash(_("Published."), "success")
    return redirect(url_for("moderation.queue"))


@bp.post("/<int:feedback_id>/reject")
@login_required
def reject(feedback_id: int):  # noqa: ANN201
    form = RejectForm()
    if form.validate_on_submit():
        moderation.reject_feedback(
            current_user.id, feedback_id, form.lock_version.data, form.reason.data
        )
        flash(_("Rejected; the organisation will see your reason."), "success")
    else:
        flash(_("Give a reason to reject a submission."), "error")
    return redirect(url_for("moderation.queue"))
