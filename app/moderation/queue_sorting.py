"""The queue sorted by one of its columns, server-side, so the order holds across pages.

The default orders ("oldest", "newest") walk the queue's index by submission time. A column
order ("priority", "-priority" for descending, ...) sorts by that column then by id: the
cursor of the next page is the id of the last row read, and the page after it starts after
that row's sort key as it is then (a keyset: rows neither repeat nor go missing between pages,
unless that very row's sort value changes in between, say a resubmission with another
priority; the date orders carry their key in the cursor and have no such gap).
"""

from __future__ import annotations

from datetime import UTC, datetime

from flask_babel import gettext as _
from sqlalchemy import Select, case, func, select, tuple_

from app.errors import DomainError
from app.extensions import db
from app.models import Feedback, Item, Organization
from app.parsing import parse_id
from app.vocabulary import STANCES

DATE_ORDERS = ("oldest", "newest")
COLUMNS = ("reference", "item", "organisation", "stance", "priority")
ORDERS = (*DATE_ORDERS, *COLUMNS, *(f"-{column}" for column in COLUMNS))


def _keys(column: str) -> list:
    """The SQL expressions a column sorts by, none of them NULL (a row comparison needs that)."""
    if column == "reference":
        return [func.coalesce(Feedback.reference, "")]
    if column == "item":
        # The items in the order of their consultation's document, not their codes' letters.
        return [Item.consultation_id, Item.position, Item.id]
    if column == "organisation":
        return [func.lower(Organization.name), Organization.id]
    if column == "stance":
        order = {value: position for position, value in enumerate(STANCES)}
        return [case(order, value=Feedback.stance, else_=len(STANCES))]
    return [func.coalesce(Feedback.priority, 0)]


def split(order: str) -> tuple[str, bool]:
    """(column, descending) of a column order."""
    return order.lstrip("-"), order.startswith("-")


def column_sorted(query: Select, order: str, after_id: int | None) -> Select:
    """Order a `filtered` query (joined to items and organisations) by a column order and
    start after the row `after_id`; a DomainError (400) when that row is not in the queue."""
    column, descending = split(order)
    keys = [*_keys(column), Feedback.id]
    if after_id is not None:
        values = db.session.execute(
            select(*keys)
            .select_from(Feedback)
            .join(Item, Item.id == Feedback.item_id)
            .join(Organization, Organization.id == Feedback.organization_id)
            .where(Feedback.id == after_id)
        ).first()
        if values is None:
            raise DomainError(_("This page of the queue no longer exists."), field="after")
        bound = tuple_(*values)
        query = query.where(tuple_(*keys) < bound if descending else tuple_(*keys) > bound)
    return query.order_by(*(key.desc() if descending else key for key in keys))


def date_cursor(submitted_at: datetime, feedback_id: int) -> str:
    """The `after` cursor of the page that follows this row in a date order."""
    return f"{submitted_at.isoformat()}_{feedback_id}"


def read_date_cursor(raw: str) -> tuple[datetime, int] | None:
    """The (UTC time, id) of a `date_cursor`; None when `raw` is not one."""
    stamp, _sep, ident = raw.rpartition("_")
    try:
        moment = datetime.fromisoformat(stamp)
    except ValueError:
        return None
    feedback_id = parse_id(ident)
    if feedback_id is None:
        return None
    try:  # a time near year 1 or 9999 in another zone has no UTC equivalent
        moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except OverflowError:
        return None
    return moment, feedback_id


def header_order(column: str, current: str) -> str:
    """The order a column's header link sets: ascending first, then the reverse."""
    if column == "submitted":
        return "newest" if current == "oldest" else "oldest"
    return f"-{column}" if current == column else column


def aria_sort(column: str, current: str) -> str:
    """The aria-sort value of a column's header for the current order."""
    if column == "submitted":
        return {"oldest": "ascending", "newest": "descending"}.get(current, "none")
    if current == column:
        return "ascending"
    return "descending" if current == f"-{column}" else "none"
