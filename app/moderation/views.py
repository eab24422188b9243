"""The moderation queue: submitted feedback awaiting review."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, abort, render_template, request
from flask_login import current_user, login_required

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


# The decision routes live in app.moderation.decisions, on this same blueprint.
from app.moderation import decisions  # noqa: E402, F401
