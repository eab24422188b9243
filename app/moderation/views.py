"""The moderation queue: submitted feedback, oldest first, with publish and reject."""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.moderation.forms import PublishForm, RejectForm
from app.services import moderation

bp = Blueprint("moderation", __name__, url_prefix="/moderation")


def _cursor() -> tuple[datetime, int] | None:
    raw = request.args.get("after", "")
    if not raw:
        return None
    stamp, _sep, ident = raw.rpartition("_")
    try:
        return datetime.fromisoformat(stamp), int(ident)
    except ValueError:
        abort(400)


@bp.get("/")
@login_required
def queue():  # noqa: ANN201
    entries = moderation.review_queue(current_user.id, after=_cursor(), limit=50)
    next_cursor = None
    if len(entries) == 50:
        last = entries[-1]
        next_cursor = f"{last.submitted_at.isoformat()}_{last.id}"
    return render_template(
        "moderation/queue.html",
        entries=entries,
        next_cursor=next_cursor,
        publish_form=PublishForm(),
        reject_form=RejectForm(),
    )


@bp.post("/<int:feedback_id>/publish")
@login_required
def publish(feedback_id: int):  # noqa: ANN201
    if PublishForm().validate_on_submit():
        moderation.publish_feedback(current_user.id, feedback_id)
        flash(_("Published."), "success")
    return redirect(url_for("moderation.queue"))


@bp.post("/<int:feedback_id>/reject")
@login_required
def reject(feedback_id: int):  # noqa: ANN201
    form = RejectForm()
    if form.validate_on_submit():
        moderation.reject_feedback(current_user.id, feedback_id, form.reason.data)
        flash(_("Rejected; the organisation will see your reason."), "success")
    else:
        flash(_("Give a reason to reject a submission."), "error")
    return redirect(url_for("moderation.queue"))
