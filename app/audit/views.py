"""The audit log for moderators, the council and admins: filter, page and export as CSV."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, Response, abort, render_template, request, stream_with_context
from flask_login import current_user, login_required

from app import staff
from app.audit import log as audit_log
from app.audit import presentation
from app.parsing import parse_id

bp = Blueprint("moderation_audit", __name__, url_prefix="/moderation/audit")
bp.before_request(staff.only(*staff.STAFF))
PAGE_SIZE = 50


def _filters() -> audit_log.AuditFilters:
    """The filters of the query string; 400 when an id or a date is malformed."""
    args = request.args
    target_id, target_type = None, args.get("target_type", "").strip()[:40]
    raw = args.get("target_id", "").strip()
    if raw and "-" in raw:  # a submission's reference, as people know it
        target_id, target_type = presentation.feedback_id(raw[:20]), "feedback"
    elif raw:
        target_id = parse_id(raw)
        if target_id is None:
            abort(400)
    return audit_log.AuditFilters(
        actor_email=args.get("actor", "").strip()[:254],
        action_prefix=args.get("action", "").strip()[:60],
        target_type=target_type,
        target_id=target_id,
        date_from=_date("from"),
        date_to=_date("to"),
    )


def _date(name: str) -> date | None:
    raw = request.args.get(name, "")
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        abort(400)


@bp.get("/")
@login_required
def index():  # noqa: ANN201
    filters = _filters()
    before_id = None
    if request.args.get("before"):
        before_id = parse_id(request.args["before"])
        if before_id is None:
            abort(400)
    lines = audit_log.events(current_user.id, filters, before_id=before_id, limit=PAGE_SIZE)
    query = {key: value for key, value in request.args.items() if key != "before" and value}
    return render_template(
        "moderation/audit.html",
        lines=presentation.readable(lines),
        action_groups=presentation.action_choices(),
        target_kinds=presentation.target_kinds(),
        action_label=presentation.action_label,
        filters=filters,
        query=query,
        next_before=lines[-1].id if len(lines) == PAGE_SIZE else None,
    )


@bp.get("/export.csv")
@login_required
def export():  # noqa: ANN201
    filters = _filters()
    audit_log.start_export(current_user.id, filters)
    return Response(
        stream_with_context(audit_log.export_csv(filters)),
        mimetype="text/csv",
        headers={"Content-Disposition": 'attachment; filename="audit-log.csv"'},
    )
