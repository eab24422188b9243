"""Row ranges of a consultation report's parts: each item's covered rows cut by feedback id into
ranges of about `rows_per_part` rows, so that several workers share one large item.

Planned from the item's ids alone (one count, then one ordered pass over the ids that an index
holds), not from its rows. The first range starts at the beginning and the last runs to the
end, so that together they cover every row of the item, whatever its ids."""

from __future__ import annotations

import math
from dataclasses import dataclass

from sqlalchemy import func, select

from app.extensions import db
from app.models import Feedback
from app.reports.rows import Scope, covered, in_scope


@dataclass(frozen=True)
class RowRange:
    first_id: int = 0  # inclusive; 0: from the first row
    end_id: int | None = None  # exclusive; None: to the last row


WHOLE = RowRange()


def plan_ranges(scope: Scope, rows_per_part: int) -> list[RowRange]:
    """The ranges of the item `scope.item_id`, in id order: one when it has no more than
    `rows_per_part` rows, else as many as split it into ranges of at most that many."""
    condition = (in_scope(scope), covered(scope))
    rows = db.session.scalar(select(func.count(Feedback.id)).where(*condition)) or 0
    parts = math.ceil(rows / max(1, rows_per_part))
    if parts <= 1:
        return [WHOLE]
    tiles = (
        select(Feedback.id, func.ntile(parts).over(order_by=Feedback.id).label("tile"))
        .where(*condition)
        .subquery()
    )
    first = func.min(tiles.c.id)
    starts = list(db.session.scalars(select(first).group_by(tiles.c.tile).order_by(first)))
    cuts = starts[1:]  # the first range starts at the beginning
    firsts = [0, *cuts]
    ends: list[int | None] = [*cuts, None]
    return [RowRange(first, end) for first, end in zip(firsts, ends, strict=True)]
