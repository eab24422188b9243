"""The moderation queue: submitted feedback awaiting review."""

from __future__ import annotations

from datetime import datetime

from flask import (
    Response,
    abort,
    current_app,
    render_template,
    request,
    stream_with_context,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.models.feedback import REGION_COUNTRIES
from app.models.moderation import FlagKind
from app.models.organization import INTERNATIONAL_COUNTRY, OrganizationType
from app.moderation import exports, queue_labels, queue_sorting
from app.moderation import queue as review_queue
from app.moderation.blueprint import bp
from app.parsing import id_argument
from app.vocabulary import flag_label

PAGE_SIZE = 50


def _cursor() -> tuple[datetime, int] | None:
    """The keyset cursor `<ISO time>_<id>` of the `after` parameter; 400 when malformed."""
    raw = request.args.get("after", "")
    if not raw:
        return None
    cursor = queue_sorting.read_date_cursor(raw)
    if cursor is None:
        abort(400)
    return cursor


@bp.get("/")
@login_required
def queue():  # noqa: ANN201
    review_queue.authorize(current_user.id)  # 403 before anything of the queue is read
    filt = review_queue.QueueFilter.from_args(request.args)
    by_date = filt.order in queue_sorting.DATE_ORDERS
    entries = review_queue.page(
        current_user.id,
        filt,
        after=_cursor() if by_date else None,
        after_id=None if by_date else id_argument(request.args, "after"),
        limit=PAGE_SIZE,
    )
    next_cursor = None
    if len(entries) == PAGE_SIZE:
        last = entries[-1]
        next_cursor = (
            queue_sorting.date_cursor(last.submitted_at, last.id) if by_date else str(last.id)
        )
    return render_template(
        "moderation/queue.html",
        entries=entries,
        next_cursor=next_cursor,
        filt=filt,
        filter_args=filt.to_args(),
        counts=review_queue.counts(current_user.id, filt),
        options=queue_labels.filter_options(),
        labels=_filter_labels(),
        # the organisations' countries: the region's, and those working across countries
        countries=(*REGION_COUNTRIES, INTERNATIONAL_COUNTRY),
        # The detail page is added alongside the decisions; link to it once it is registered.
        has_detail="moderation.show" in current_app.view_functions,
        sorting=queue_sorting,
        paged=bool(request.args.get("after")),
    )


@bp.get("/export.csv")
@login_required
def export_csv():  # noqa: ANN201
    review_queue.authorize(current_user.id, export=True)
    filt = review_queue.QueueFilter.from_args(request.args)
    lines = exports.queue_csv(current_user.id, filt)
    return Response(
        stream_with_context(lines),
        mimetype="text/csv",
        headers={"Content-Disposition": 'attachment; filename="moderation-queue.csv"'},
    )


def _filter_labels() -> dict[str, dict[str, str]]:
    """Labels of the filter choices, in the reader's language."""
    return {
        "flag": {kind: flag_label(kind.value) for kind in FlagKind},
        "organization_type": {
            OrganizationType.NGO: _("NGO"),
            OrganizationType.MIGRANT_LED: _("Migrant-led or diaspora"),
            OrganizationType.FAITH_BASED: _("Faith-based"),
            OrganizationType.ACADEMIC: _("Academic"),
            OrganizationType.LEGAL_AID: _("Legal aid"),
            OrganizationType.EMPLOYER: _("Employer or business"),
            OrganizationType.WORKERS: _("Workers' organisation"),
            OrganizationType.INTERNATIONAL: _("International organisation"),
            OrganizationType.GOVERNMENT: _("Government"),
            OrganizationType.OTHER: _("Other"),
        },
    }
