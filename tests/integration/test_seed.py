"""Seeding the shipped consultations on PostgreSQL: idempotent, and text edits add item versions."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from flask import Flask
from sqlalchemy import func, select

from app.consultations.seeding import CONTENT_DIR, load_content, seed_content
from app.extensions import db
from app.models import LOCALES, AuditEvent, Consultation, Item, ItemVersion

SUMMIT = "leaders-summit-2021-migration"
TASK_FORCE = "task-force-migration-recommendations"
SEED_COMMAND_QUIET = (
    "consultations: 0 created, 0 updated; items: 0 created, 0 updated; new versions: 0"
)


def _counts() -> dict[str, int]:
    return {
        model.__tablename__: db.session.scalar(select(func.count()).select_from(model))
        for model in (Consultation, Item, ItemVersion, AuditEvent)
    }


def _items(slug: str) -> list[Item]:
    consultation = db.session.scalar(select(Consultation).where(Consultation.slug == slug))
    assert consultation is not None, f"{slug} was not seeded"
    return list(consultation.items)


def _texts(version: ItemVersion) -> tuple[dict, dict]:
    return dict(version.title), dict(version.body)


@pytest.fixture
def edited_content(tmp_path: Path) -> Path:
    """A copy of the shipped content where P2's English body has been reworded."""
    directory = tmp_path / "content"
    directory.mkdir()
    for path in CONTENT_DIR.glob("*.yaml"):
        shutil.copy(path, directory / path.name)
    summit = directory / "leaders-summit-2021.yaml"
    document = yaml.safe_load(summit.read_text(encoding="utf-8"))
    item = next(entry for entry in document["items"] if entry["code"] == "P2")
    item["body"]["en"] += "\nThe leaders will report on progress every year.\n"
    summit.write_text(yaml.safe_dump(document, allow_unicode=True, sort_keys=False), "utf-8")
    return directory


@pytest.mark.postgres
@pytest.mark.redis
def test_seeding_shipped_content_creates_both_consultations_with_first_versions(app: Flask):
    with app.app_context():
        report = seed_content()

        assert report.consultations_created == 2
        summit_items = _items(SUMMIT)
        assert [item.code for item in summit_items] == ["P1", "P2", "P3", "P4", "P5", "P6"]
        assert [item.position for item in summit_items] == [1, 2, 3, 4, 5, 6]
        task_force_codes = [item.code for item in _items(TASK_FORCE)]
        assert task_force_codes
        assert {code.rsplit("-", 1)[0] for code in task_force_codes} == {
            "TF-HP",
            "TF-RC",
            "TF-AP",
        }
        assert report.items_created == len(summit_items) + len(task_force_codes)

        for item in summit_items + _items(TASK_FORCE):
            assert item.current_version == 1
            assert [version.number for version in item.versions] == [1]
            title = item.versions[0].title
            assert all(title.get(locale) for locale in LOCALES), (item.code, title)


@pytest.mark.postgres
@pytest.mark.redis
def test_seeding_twice_changes_nothing_and_audits_nothing(app: Flask):
    with app.app_context():
        assert seed_content().changed
        before = _counts()

        second = seed_content()

        assert not second.changed
        assert second.versions_added == []
        assert _counts() == before


@pytest.mark.postgres
@pytest.mark.redis
def test_edited_item_text_adds_a_version_to_that_item_only(app: Flask, edited_content: Path):
    with app.app_context():
        seed_content()
        originals = {
            item.code: _texts(item.versions[0]) for item in _items(SUMMIT) + _items(TASK_FORCE)
        }

        report = seed_content(edited_content)

        assert report.versions_added == [f"{SUMMIT}/P2"]
        db.session.expire_all()
        for item in _items(SUMMIT) + _items(TASK_FORCE):
            first = item.versions[0]
            assert first.number == 1
            assert _texts(first) == originals[item.code], f"{item.code} version 1 changed"
            if item.code == "P2":
                assert item.current_version == 2
                assert [version.number for version in item.versions] == [1, 2]
                assert item.versions[1].body["en"].endswith("report on progress every year.")
                assert item.versions[1].body["es"] == first.body["es"]
            else:
                assert item.current_version == 1
                assert len(item.versions) == 1
        new_version_events = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "item.new_version")
        ).all()
        assert len(new_version_events) == 1
        before = _counts()

        again = seed_content(edited_content)

        assert not again.changed
        assert _counts() == before


@pytest.mark.postgres
@pytest.mark.redis
def test_seed_command_loads_the_content_once(app: Flask):
    runner = app.test_cli_runner()

    first = runner.invoke(args=["seed"])
    second = runner.invoke(args=["seed"])

    assert first.exit_code == 0, first.output
    assert "consultations: 2 created" in first.output
    assert second.exit_code == 0, second.output
    assert SEED_COMMAND_QUIET in second.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Consultation)) == 2


def test_shipped_content_has_english_title_body_and_source_for_every_item():
    documents = load_content()

    assert {document["slug"] for document in documents} == {SUMMIT, TASK_FORCE}
    for document in documents:
        assert document["items"], document["slug"]
        for entry in document["items"]:
            for key in ("title", "body", "source"):
                assert entry[key].get("en", "").strip(), (document["slug"], entry["code"], key)


@pytest.mark.parametrize("missing", ["title", "body", "source"])
def test_content_without_english_item_text_is_refused(tmp_path: Path, missing: str):
    document = yaml.safe_load((CONTENT_DIR / "leaders-summit-2021.yaml").read_text("utf-8"))
    del document["items"][2][missing]["en"]
    (tmp_path / "broken.yaml").write_text(yaml.safe_dump(document, allow_unicode=True), "utf-8")

    with pytest.raises(ValueError, match=f"P3 {missing} needs an English text"):
        load_content(tmp_path)
