"""What the queue shows people instead of codes: item and consultation titles."""

from __future__ import annotations

from flask_babel import get_locale
from sqlalchemy import select

from app.extensions import db
from app.models import Consultation, Feedback, Item, ItemVersion, localized


def _locale() -> str:
    return str(get_locale() or "en")


def item_titles(item_ids: set[int]) -> dict[int, str]:
    """The current title of each item, in the reader's language."""
    if not item_ids:
        return {}
    rows = db.session.execute(
        select(ItemVersion.item_id, ItemVersion.title)
        .join(Item, Item.id == ItemVersion.item_id)
        .where(Item.id.in_(item_ids), ItemVersion.number == Item.current_version)
    )
    locale = _locale()
    return {row.item_id: localized(row.title, locale) for row in rows}


def filter_options() -> dict[str, list[tuple[int, str]]]:
    """The consultations and items a moderator can filter by (small tables), by title."""
    locale = _locale()
    consultations = db.session.execute(
        select(Consultation.id, Consultation.title).order_by(Consultation.id)
    ).all()
    names = {row.id: localized(row.title, locale) for row in consultations}
    items = db.session.execute(
        select(Item.id, Item.code, Item.consultation_id).order_by(
            Item.consultation_id, Item.position, Item.code
        )
    ).all()
    titles = item_titles({row.id for row in items})
    return {
        "consultations": sorted(names.items(), key=lambda pair: pair[1].casefold()),
        "items": [
            (row.id, f"{row.code}: {titles.get(row.id, '')} ({names[row.consultation_id]})")
            for row in items
        ],
    }


def titles_of_submissions(feedback_ids: list[int]) -> dict[int, str]:
    """Each submission's item as "P1: its title", by the submission's id."""
    if not feedback_ids:
        return {}
    rows = db.session.execute(
        select(Feedback.id, Item.id.label("item_id"), Item.code)
        .join(Item, Item.id == Feedback.item_id)
        .where(Feedback.id.in_(feedback_ids))
    ).all()
    titles = item_titles({row.item_id for row in rows})
    return {row.id: f"{row.code}: {titles.get(row.item_id, '')}".rstrip(": ") for row in rows}
