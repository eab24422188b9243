"""Loads the seeded consultations from app/content/ idempotently; text edits add item versions."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import yaml
from sqlalchemy import select

from app import audit
from app.extensions import db
from app.models import Consultation, Item, ItemKind, ItemVersion

CONTENT_DIR = Path(__file__).resolve().parent.parent / "content" / "consultations"


@dataclass
class SeedReport:
    consultations_created: int = 0
    consultations_updated: int = 0
    items_created: int = 0
    items_updated: int = 0
    versions_added: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return any(
            (
                self.consultations_created,
                self.consultations_updated,
                self.items_created,
                self.items_updated,
                self.versions_added,
            )
        )


def load_content(directory: Path = CONTENT_DIR) -> list[dict]:
    documents = []
    for path in sorted(directory.glob("*.yaml")):
        with path.open(encoding="utf-8") as handle:
            document = yaml.safe_load(handle)
        _require_english(document, path.name)
        documents.append(document)
    return documents


def seed_content(directory: Path = CONTENT_DIR) -> SeedReport:
    """Create or update every consultation in `directory`; running it twice changes nothing."""
    report = SeedReport()
    for document in load_content(directory):
        _seed_consultation(document, report)
    db.session.commit()
    return report


def _seed_consultation(document: dict, report: SeedReport) -> None:
    consultation = db.session.scalar(
        select(Consultation).where(Consultation.slug == document["slug"])
    )
    values = {
        "title": document["title"],
        "summary": {k: v.strip() for k, v in document["summary"].items()},
    }
    if consultation is None:
        # The file gives the first comment window; after that, admins own the dates.
        consultation = Consultation(
            slug=document["slug"],
            opens_at=_utc(document["opens_at"]),
            closes_at=_utc(document["closes_at"]),
            **values,
        )
        db.session.add(consultation)
        db.session.flush()
        report.consultations_created += 1
        audit.record(None, "consultation.seed", "consultation", consultation.id)
    elif _apply(consultation, values):
        report.consultations_updated += 1

    existing = {item.code: item for item in consultation.items}
    for position, entry in enumerate(document["items"], start=1):
        item = existing.get(entry["code"])
        if item is None:
            _create_item(consultation, entry, position)
            report.items_created += 1
            continue
        if _apply(
            item,
            {"kind": ItemKind(entry["kind"]), "source": entry["source"], "position": position},
        ):
            report.items_updated += 1
        if _add_version_if_text_changed(item, entry):
            report.versions_added.append(f"{consultation.slug}/{item.code}")


def _create_item(consultation: Consultation, entry: dict, position: int) -> None:
    item = Item(
        consultation=consultation,
        code=entry["code"],
        kind=ItemKind(entry["kind"]),
        source=entry["source"],
        position=position,
        current_version=1,
    )
    item.versions.append(
        ItemVersion(number=1, title=entry["title"], body=_bodies(entry), change_note="Published")
    )
    db.session.add(item)


def _add_version_if_text_changed(item: Item, entry: dict) -> bool:
    current = next(v for v in item.versions if v.number == item.current_version)
    title, body = entry["title"], _bodies(entry)
    if current.title == title and current.body == body:
        return False
    number = max(v.number for v in item.versions) + 1
    item.versions.append(
        ItemVersion(number=number, title=title, body=body, change_note="Text updated")
    )
    item.current_version = number
    db.session.flush()
    audit.record(None, "item.new_version", "item", item.id, after={"version": number})
    return True


def _apply(target: object, values: dict) -> bool:
    changed = False
    for key, value in values.items():
        if getattr(target, key) != value:
            setattr(target, key, value)
            changed = True
    return changed


def _bodies(entry: dict) -> dict[str, str]:
    return {locale: text.strip() for locale, text in entry["body"].items()}


def _utc(value: str | datetime) -> datetime:
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _require_english(document: dict, name: str) -> None:
    for key in ("title", "summary"):
        if not document.get(key, {}).get("en"):
            raise ValueError(f"{name}: {key} needs an English text")
    for entry in document.get("items", []):
        for key in ("title", "body", "source"):
            if not entry.get(key, {}).get("en"):
                raise ValueError(f"{name}: item {entry.get('code')} {key} needs an English text")
