"""Backups that restore (docs/backups.md): `flask backup create`, run as the compose service
runs it, dumps the run's database with pg_dump and copies every attachment file; restored with
pg_restore into a new database and a new bucket, every row of every table and every file is
back, and a new app serves the positions and their files. A damaged backup, a database that is
not empty and a lost file are refused or reported, never restored half-way."""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from flask import Flask
from psycopg import sql
from sqlalchemy import func, select

from app import create_app
from app.backups import postgres
from app.extensions import db
from app.feedback import attachments
from app.models import Attachment, AuditEvent, Disclosure, Feedback, FeedbackRevision, Role
from app.moderation import services as moderation
from app.storage import attachment_store
from tests import factories
from tests.helpers.files import pdf_bytes, png_bytes
from tests.helpers.object_store import S3Server, start_s3_server
from tests.helpers.services import PROJECT, app_settings, fresh_pg_database
from tests.helpers.web import sign_in

pytestmark = [pytest.mark.postgres]

TABLES = (
    "SELECT table_schema, table_name FROM information_schema.tables"
    " WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema')"
)
OLD_BACKUPS = ("20200101T000000Z", "20200102T000000Z")


@pytest.fixture(scope="module")
def s3_server() -> Iterator[S3Server]:
    server = start_s3_server()
    yield server
    server.stop()


# --- helpers ------------------------------------------------------------------------------------


def positions_with_files(app: Flask) -> dict:
    """Two organisations' positions on a new consultation, through the services: one submitted
    with a public PDF, changed and published (three revisions), one submitted with a PNG for
    the council only."""
    with app.app_context():
        item = factories.item()
        published_lead, other_lead = factories.lead(), factories.lead()
        first = factories.feedback(published_lead, item, comment="Fund the shelters first.")
        pdf = attachments.add_attachment(
            published_lead.id, item.id, pdf_bytes(300), "evidence.pdf", Disclosure.PUBLIC
        )
        changed = factories.feedback(published_lead, item, comment="Fund the shelters now.")
        moderator = factories.staff(Role.MODERATOR)
        moderation.publish_feedback(moderator.id, changed.id, changed.lock_version)
        second = factories.feedback(other_lead, item, comment="Count the families too.")
        png = attachments.add_attachment(
            other_lead.id, item.id, png_bytes(), "chart.png", Disclosure.COUNCIL_ONLY
        )
        return {
            "page": f"/c/{item.consultation.slug}/items/{item.code}",
            "feedback": [first.id, second.id],
            "files": {pdf.id: pdf_bytes(300), png.id: png_bytes()},
            "public": pdf.id,
            "leads": [published_lead.email, other_lead.email],
        }


def fingerprints(url: str) -> dict[str, tuple[int, str]]:
    """Every table's row count and a hash of all its rows (ids and contents), by name."""
    found = {}
    with psycopg.connect(url) as connection:
        for schema, name in connection.execute(TABLES).fetchall():
            query = sql.SQL(
                "SELECT count(*), md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), ''))"
                " FROM {} t"
            ).format(sql.Identifier(schema, name))
            count, digest = connection.execute(query).fetchone()
            found[f"{schema}.{name}"] = (count, digest)
    return found


def run_flask(app: Flask, *args: str) -> subprocess.CompletedProcess:
    """`flask --app app ARGS` in a process of its own, configured by its environment only (as
    the compose service is) for the database and instance folder of `app`."""
    settings = app.config["SETTINGS"]
    env = {
        **{name: value for name, value in os.environ.items() if not name.startswith("CONSULTA_")},
        "CONSULTA_ENV": "test",
        "CONSULTA_SECRET_KEY": settings.secret_key,
        "CONSULTA_DATABASE_URL": settings.database_url,
        "CONSULTA_INSTANCE_PATH": settings.instance_path,
    }
    return subprocess.run(  # noqa: S603 - our own interpreter and app
        [sys.executable, "-m", "flask", "--app", "app", *args],
        cwd=PROJECT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def fake_backup(root: Path, name: str) -> None:
    (root / name).mkdir(parents=True)
    (root / name / "manifest.json").write_text("{}")


def only_backup(root: Path) -> Path:
    """The one backup in `root` (beside it: the lock file)."""
    (found,) = (path for path in root.iterdir() if path.is_dir())
    return found


def manifest_of(folder: Path) -> dict:
    return json.loads((folder / "manifest.json").read_text())


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def restored_app(app_overrides, s3_server, tmp_path) -> Iterator[Flask]:
    """An app on a new, empty database and a new bucket, as on a machine being rebuilt."""
    with fresh_pg_database("consulta_restored") as url:
        settings = app_settings(tmp_path / "instance", url, None, "restored")
        bucket = f"consulta-restored-{secrets.token_hex(4)}"
        application = create_app(
            {**settings, "mail_port": app_overrides["mail_port"], **s3_server.settings(bucket)}
        )
        yield application
        with application.app_context():
            db.engine.dispose()


# --- the round trip -------------------------------------------------------------------------------


def test_a_backup_restored_into_a_new_database_and_bucket_holds_everything_and_is_served(
    seeded, restored_app, s3_server, tmp_path
):
    made = positions_with_files(seeded)
    root = tmp_path / "backups"
    for name in OLD_BACKUPS:
        fake_backup(root, name)
    (root / "notes").mkdir()  # not a backup: retention leaves it alone
    source = seeded.config["SETTINGS"].database_url
    before = fingerprints(source)

    created = run_flask(seeded, "backup", "create", str(root), "--keep", "2")

    assert created.returncode == 0, created.stderr
    assert fingerprints(source) == before  # nothing wrote while the backup was made
    folders = sorted(path.name for path in root.iterdir() if path.is_dir())
    assert folders[0] == OLD_BACKUPS[1] and folders[-1] == "notes" and len(folders) == 3
    backup = root / folders[1]
    manifest = manifest_of(backup)
    assert manifest["database"]["rows"] == {name: rows for name, (rows, _) in before.items()}
    assert manifest["problems"] == []
    assert {entry["sha256"] for entry in manifest["attachments"]["files"].values()} >= {
        sha256(data) for data in made["files"].values()
    }

    restored = restored_app.test_cli_runner().invoke(args=["backup", "restore", str(backup)])

    assert restored.exit_code == 0, restored.output
    target = restored_app.config["SETTINGS"].database_url
    assert fingerprints(target) == before  # every table: the same rows, ids and contents
    with restored_app.app_context():
        assert set(made["feedback"]) <= set(db.session.scalars(select(Feedback.id)))
        revisions = db.session.scalar(
            select(func.count()).where(FeedbackRevision.feedback_id.in_(made["feedback"]))
        )
        assert revisions == 5  # submitted, file added (twice each); changed
        assert (
            db.session.scalar(select(func.count(AuditEvent.id))) == before["public.audit_events"][0]
        )
        assert before["public.audit_events"][0] >= 8
        for attachment_id, data in made["files"].items():
            stored = db.session.get(Attachment, attachment_id)
            found = attachment_store().open(attachments.object_key(stored.storage_key))
            assert found.path is None and found.stream.read() == data  # from the new bucket

    # The store of the restored machine is backed up as well as the local one was.
    again = restored_app.test_cli_runner().invoke(args=["backup", "create", str(tmp_path / "2")])
    assert again.exit_code == 0, again.output
    copy = manifest_of(only_backup(tmp_path / "2"))
    assert copy["attachments"]["files"] == manifest["attachments"]["files"]
    assert copy["database"]["rows"] == manifest["database"]["rows"]

    visitor = restored_app.test_client()
    page = visitor.get(made["page"])
    assert page.status_code == 200 and "Fund the shelters now." in page.get_data(as_text=True)
    assert f"/attachments/{made['public']}" in page.get_data(as_text=True)
    download = visitor.get(f"/attachments/{made['public']}")
    assert download.status_code == 200 and download.data == made["files"][made["public"]]

    lead = restored_app.test_client()
    sign_in(lead, made["leads"][0])  # the password hashes came back too
    history = lead.get(f"{made['page']}/feedback/revisions").get_data(as_text=True)
    assert [f'id="revision-{n}"' in history for n in (1, 2, 3, 4)] == [True, True, True, False]

    # The restored database takes new rows: its sequences came back with the tables.
    with restored_app.app_context():
        lead_id = db.session.scalar(
            select(Feedback.submitted_by_id).where(Feedback.id == made["feedback"][1])
        )
        item_id = db.session.get(Feedback, made["feedback"][1]).item_id
        added = attachments.add_attachment(
            lead_id, item_id, pdf_bytes(), "more.pdf", Disclosure.PUBLIC
        )
        assert added.id > max(made["files"])


# --- what is refused or reported ----------------------------------------------------------------


def test_a_damaged_backup_is_refused_before_anything_is_restored(
    seeded, restored_app, s3_server, tmp_path
):
    made = positions_with_files(seeded)
    runner = seeded.test_cli_runner()
    assert runner.invoke(args=["backup", "create", str(tmp_path / "backups")]).exit_code == 0
    backup = only_backup(tmp_path / "backups")
    intact = runner.invoke(args=["backup", "verify", str(backup)])
    assert intact.exit_code == 0 and "is intact" in intact.output, intact.output
    files = sorted(path for path in (backup / "attachments").rglob("*") if path.is_file())
    assert len(files) >= len(made["files"])
    damaged = files[0]
    damaged.write_bytes(damaged.read_bytes()[:-1] + b"!")
    dump = backup / "database.dump"
    dump.write_bytes(dump.read_bytes()[:-100])

    assert runner.invoke(args=["backup", "verify", str(backup)]).exit_code == 1
    refused = restored_app.test_cli_runner().invoke(args=["backup", "restore", str(backup)])

    assert refused.exit_code == 1
    assert "database.dump: missing or changed" in refused.output
    assert f"{damaged.relative_to(backup)}: missing or changed" in refused.output
    assert fingerprints(restored_app.config["SETTINGS"].database_url) == {}
    with restored_app.app_context():
        store = attachment_store()
        keys = [str(path.relative_to(backup / "attachments")) for path in files]
        assert not any(store.exists(key) for key in keys)


def test_a_restore_that_does_not_hold_the_rows_the_backup_counted_fails(
    seeded, restored_app, tmp_path
):
    runner = seeded.test_cli_runner()
    assert runner.invoke(args=["backup", "create", str(tmp_path / "backups")]).exit_code == 0
    backup = only_backup(tmp_path / "backups")
    manifest = manifest_of(backup)
    manifest["database"]["rows"]["public.audit_events"] += 1
    (backup / "manifest.json").write_text(json.dumps(manifest))

    result = restored_app.test_cli_runner().invoke(args=["backup", "restore", str(backup)])

    assert result.exit_code == 1
    assert "restored rows differ from the backup in public.audit_events" in result.output


def test_a_database_that_is_not_empty_is_never_restored_over(seeded, tmp_path):
    positions_with_files(seeded)
    runner = seeded.test_cli_runner()
    assert runner.invoke(args=["backup", "create", str(tmp_path / "backups")]).exit_code == 0
    backup = only_backup(tmp_path / "backups")
    source = seeded.config["SETTINGS"].database_url
    before = fingerprints(source)

    refused = runner.invoke(args=["backup", "restore", str(backup)])

    assert refused.exit_code == 1
    assert "the database is not empty" in refused.output
    assert fingerprints(source) == before


def test_a_file_lost_from_the_store_is_reported_and_the_rest_backed_up(seeded, tmp_path):
    made = positions_with_files(seeded)
    with seeded.app_context():
        lost = db.session.get(Attachment, made["public"])
        attachment_store().delete(attachments.object_key(lost.storage_key))
        key = attachments.object_key(lost.storage_key)

    result = seeded.test_cli_runner().invoke(args=["backup", "create", str(tmp_path / "backups")])

    assert result.exit_code == 1
    assert f"problem: {key}: not in the attachment store" in result.output
    backup = only_backup(tmp_path / "backups")
    manifest = manifest_of(backup)
    assert manifest["problems"] == [f"{key}: not in the attachment store"]
    assert key not in manifest["attachments"]["files"]
    assert len(manifest["attachments"]["files"]) == len(made["files"]) - 1


def test_the_embedded_sqlite_database_is_not_backed_up_by_this_command(tmp_path):
    settings = app_settings(tmp_path, f"sqlite:///{tmp_path / 'db.sqlite'}", None, "sqlite")
    result = (
        create_app(settings)
        .test_cli_runner()
        .invoke(args=["backup", "create", str(tmp_path / "backups")])
    )
    assert result.exit_code == 1
    assert "backups are made of a PostgreSQL database" in result.output
    assert not (tmp_path / "backups").exists()


# --- the client programs' versions ----------------------------------------------------------------


def test_the_machines_client_programs_match_the_server_they_back_up(seeded):
    with seeded.app_context(), db.engine.connect() as connection:
        server = postgres.server_major(connection)
    pg_dump, pg_restore = postgres.tool("pg_dump"), postgres.tool("pg_restore")
    assert pg_dump.major >= server and pg_restore.major <= server
    postgres.check_dump_client(pg_dump, server)
    postgres.check_restore_client(pg_restore, server)
