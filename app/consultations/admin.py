"""Admins create and edit consultations and their items.

Slugs and item codes are fixed once created (links and feedback point at them). An item's
text is never edited in place: a changed title or body in any language adds an immutable
version, so feedback keeps pointing at the text it answered. Every change is an audit event
with the fields before and after; a form based on a stale copy is refused, never merged.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import func, select

from app import audit
from app.accounts.permissions import acting_user
from app.consultations import services as consultations
from app.errors import Conflict, DomainError, NotFound
from app.extensions import db
from app.models import (
    LOCALES,
    Consultation,
    ConsultationState,
    Item,
    ItemKind,
    ItemVersion,
    Role,
)
from app.models.base import utcnow

SLUG_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
CODE_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


@dataclass(frozen=True)
class ConsultationInput:
    slug: str
    title: dict[str, str]
    summary: dict[str, str]
    opens_at: datetime
    closes_at: datetime
    state_override: ConsultationState | None


@dataclass(frozen=True)
class ItemInput:
    code: str
    kind: ItemKind
    position: int
    source: dict[str, str]
    title: dict[str, str]
    body: dict[str, str]
    change_note: str = ""


@dataclass(frozen=True)
class ConsultationRow:
    slug: str
    title: dict[str, str]
    opens_at: datetime
    closes_at: datetime
    state: ConsultationState
    overridden: bool
    items: int


# --- consultations -------------------------------------------------------------------------


def list_consultations(admin_id: int) -> list[ConsultationRow]:
    acting_user(admin_id, Role.ADMIN)
    item_count = (
        select(func.count(Item.id)).where(Item.consultation_id == Consultation.id).scalar_subquery()
    )
    now = utcnow()
    rows = db.session.execute(
        select(Consultation, item_count.label("items")).order_by(Consultation.opens_at.desc())
    ).all()
    return [
        ConsultationRow(
            slug=consultation.slug,
            title=consultation.title,
            opens_at=consultation.opens_at,
            closes_at=consultation.closes_at,
            state=consultation.state_at(now),
            overridden=consultation.state_override is not None,
            items=items,
        )
        for consultation, items in rows
    ]


def get_consultation(admin_id: int, slug: str) -> Consultation:
    acting_user(admin_id, Role.ADMIN)
    return _consultation(slug)


def fingerprint(consultation: Consultation) -> str:
    """A short digest of the editable fields, sent with the form to detect a concurrent edit."""
    values = _consultation_values(consultation)
    encoded = json.dumps(values, sort_keys=True, default=str).encode()
    return hashlib.sha256(encoded).hexdigest()[:16]


def create_consultation(admin_id: int, data: ConsultationInput) -> Consultation:
    admin = acting_user(admin_id, Role.ADMIN)
    _check_consultation(data)
    if db.session.scalar(select(Consultation.id).where(Consultation.slug == data.slug)):
        raise DomainError(_("Another consultation already uses this address."), field="slug")
    consultation = Consultation(
        slug=data.slug,
        title=_texts(data.title),
        summary=_texts(data.summary),
        opens_at=data.opens_at,
        closes_at=data.closes_at,
        state_override=data.state_override,
    )
    db.session.add(consultation)
    db.session.flush()
    audit.record(
        admin.id,
        "consultation.create",
        "consultation",
        consultation.id,
        after=_consultation_values(consultation),
    )
    db.session.commit()
    return consultation


def update_consultation(admin_id: int, slug: str, data: ConsultationInput, seen: str) -> bool:
    """Apply `data` (its slug is ignored); False when nothing changed. `seen` is the
    fingerprint the form was built from: a consultation changed since is a conflict."""
    admin = acting_user(admin_id, Role.ADMIN)
    consultation = _consultation(slug, lock=True)
    if fingerprint(consultation) != seen:
        raise Conflict(
            _(
                "Another admin changed this consultation while you were editing. Your text is "
                "kept below; compare it with the current version and save again."
            )
        )
    _check_consultation(data)
    before = _consultation_values(consultation)
    consultation.title = _texts(data.title)
    consultation.summary = _texts(data.summary)
    # The form shows whole seconds: an unchanged field must not shave off the microseconds.
    if data.opens_at != consultation.opens_at.replace(microsecond=0):
        consultation.opens_at = data.opens_at
    if data.closes_at != consultation.closes_at.replace(microsecond=0):
        consultation.closes_at = data.closes_at
    consultation.state_override = data.state_override
    after = _consultation_values(consultation)
    changed = {key for key in after if after[key] != before[key]}
    if changed and consultation.state_at(utcnow()) is not ConsultationState.CLOSED:
        # Reopened (or not closed yet): when it closes again, beat compiles a closing report.
        consultation.closing_report_at = None
    if not changed:
        db.session.rollback()
        return False
    audit.record(
        admin.id,
        "consultation.update",
        "consultation",
        consultation.id,
        before={key: before[key] for key in sorted(changed)},
        after={key: after[key] for key in sorted(changed)},
    )
    db.session.commit()
    return True


def _check_consultation(data: ConsultationInput) -> None:
    if not SLUG_PATTERN.match(data.slug or ""):
        raise DomainError(
            _("Use lower-case letters, digits and single hyphens, such as summit-2021."),
            field="slug",
        )
    if not data.title.get("en", "").strip():
        raise DomainError(_("An English title is required."), field="title_en")
    if not data.summary.get("en", "").strip():
        raise DomainError(_("An English summary is required."), field="summary_en")
    if data.closes_at <= data.opens_at:
        raise DomainError(_("The consultation must close after it opens."), field="closes_at")


def _consultation_values(consultation: Consultation) -> dict[str, object]:
    values: dict[str, object] = {}
    for locale in LOCALES:
        values[f"title_{locale}"] = consultation.title.get(locale, "")
        values[f"summary_{locale}"] = consultation.summary.get(locale, "")
    values["opens_at"] = consultation.opens_at.isoformat()
    values["closes_at"] = consultation.closes_at.isoformat()
    override = consultation.state_override
    values["state_override"] = override.value if override else ""
    return values


def _consultation(slug: str, *, lock: bool = False) -> Consultation:
    query = select(Consultation).where(Consultation.slug == slug)
    if lock:
        query = query.with_for_update()
    consultation = db.session.scalar(query)
    if consultation is None:
        raise NotFound(_("No such consultation."))
    return consultation


# --- items ---------------------------------------------------------------------------------


def get_item(admin_id: int, item_id: int) -> tuple[Item, ItemVersion]:
    """The item with its current version."""
    acting_user(admin_id, Role.ADMIN)
    view = consultations.item_by_id(item_id)
    return view.item, view.version


def create_item(admin_id: int, slug: str, data: ItemInput) -> Item:
    admin = acting_user(admin_id, Role.ADMIN)
    consultation = _consultation(slug, lock=True)
    _check_item(data)
    taken = db.session.scalar(
        select(Item.id).where(Item.consultation_id == consultation.id, Item.code == data.code)
    )
    if taken:
        raise DomainError(_("Another item of this consultation has this code."), field="code")
    item = Item(
        consultation_id=consultation.id,
        code=data.code,
        kind=data.kind,
        source=_texts(data.source),
        position=data.position,
        current_version=1,
    )
    item.versions.append(
        ItemVersion(
            number=1,
            title=_texts(data.title),
            body=_texts(data.body),
            change_note=data.change_note.strip() or "Published",
        )
    )
    db.session.add(item)
    db.session.flush()
    audit.record(
        admin.id,
        "item.create",
        "item",
        item.id,
        after={"consultation": consultation.slug, "code": item.code, "kind": item.kind.value},
    )
    db.session.commit()
    return item


def update_item(admin_id: int, item_id: int, data: ItemInput, seen_version: int) -> int | None:
    """Apply `data` (its code is ignored). Returns the new version's number when the title or
    body changed, else None. `seen_version` is the version the form showed: an item that got
    a newer version since is a conflict, so nobody overwrites a colleague's text unseen."""
    admin = acting_user(admin_id, Role.ADMIN)
    item = _item(item_id, lock=True)
    if item.current_version != seen_version:
        raise Conflict(
            _(
                "Another admin published version %(number)s of this item while you were "
                "editing. Your text is kept below; compare it with the current version and "
                "save again.",
                number=item.current_version,
            )
        )
    _check_item(data)
    before = {"kind": item.kind.value, "position": item.position, "source": item.source}
    item.kind = data.kind
    item.position = data.position
    item.source = _texts(data.source)
    after = {"kind": item.kind.value, "position": item.position, "source": item.source}
    changed = sorted(key for key in after if after[key] != before[key])
    if changed:
        audit.record(
            admin.id,
            "item.update",
            "item",
            item.id,
            before={key: before[key] for key in changed},
            after={key: after[key] for key in changed},
        )
    number = _new_version_if_changed(admin.id, item, data)
    if not changed and number is None:
        db.session.rollback()
        return None
    db.session.commit()
    return number


def _new_version_if_changed(admin_id: int, item: Item, data: ItemInput) -> int | None:
    current = _current(item)
    title, body = _texts(data.title), _texts(data.body)
    if current.title == title and current.body == body:
        return None
    if not data.change_note.strip():
        raise DomainError(
            _("Say what changed: the note is shown with the new version."), field="change_note"
        )
    number = item.current_version + 1
    db.session.add(
        ItemVersion(
            item_id=item.id,
            number=number,
            title=title,
            body=body,
            change_note=data.change_note.strip(),
        )
    )
    item.current_version = number
    db.session.flush()
    audit.record(
        admin_id,
        "item.new_version",
        "item",
        item.id,
        before={"version": number - 1},
        after={"version": number, "note": data.change_note.strip()},
    )
    return number


def _check_item(data: ItemInput) -> None:
    if not CODE_PATTERN.match(data.code or "") or len(data.code) > 20:
        raise DomainError(
            _("Use up to 20 letters, digits, dots, hyphens or underscores, such as P1."),
            field="code",
        )
    if not data.title.get("en", "").strip():
        raise DomainError(_("An English title is required."), field="title_en")
    if not data.body.get("en", "").strip():
        raise DomainError(_("An English text is required."), field="body_en")
    if not data.source.get("en", "").strip():
        raise DomainError(_("An English source is required."), field="source_en")


def _item(item_id: int, *, lock: bool = False) -> Item:
    item = db.session.get(Item, item_id, with_for_update=lock)
    if item is None:
        raise NotFound(_("No such item."))
    return item


def _current(item: Item) -> ItemVersion:
    return db.session.scalar(
        select(ItemVersion).where(
            ItemVersion.item_id == item.id, ItemVersion.number == item.current_version
        )
    )


def _texts(texts: dict[str, str]) -> dict[str, str]:
    """The non-empty texts per locale, trimmed; a missing translation falls back to English."""
    return {
        locale: texts[locale].strip() for locale in LOCALES if (texts.get(locale) or "").strip()
    }
