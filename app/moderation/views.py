"""The moderation queue: submitted feedback, oldest first, with publish and reject."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.moderation.forms import DecisionForm, RejectForm
from app.parsing import parse_id
from app.services import moderation

bp = Blueprint("moderation", __name__, url_prefix="/moderation")
PAGE_SIZE = 50


def _cursor() -> tuple[datetime, int] | None:
    """The keyset cursor `<ISO time>_<id>` of the `after` parameter; 400 when malformed."""
    raw = request.args.get("after", "")
    if not raw:
        return None
    stamp, _sep, ident = raw.rpartition("_")
    try:
        moment = datetime.fromisoformat(stamp)
    except ValueError:
        abort(400)
    feedback_id = parse_id(ident)
    if feedback_id is None:
        abort(400)
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return moment, feedback_id


@bp.get("/")
@login_required
def queue():  # noqa: ANN201
    entries = moderation.review_queue(current_user.id, after=_cursor(), limit=PAGE_SIZE)
    next_cursor = None
    if len(entries) == PAGE_SIZE:
        last = entries[-1]
        next_cursor = f"{last.submitted_at.isoformat()}_{last.id}"
    return render_template("moderation/queue.html", entries=entries, next_cursor=next_cursor)


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
