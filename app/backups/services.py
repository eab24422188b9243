"""Making, checking and restoring a backup: one folder holding the database's dump, a copy of
every attachment file and a manifest of their checksums and of the rows in each table.

    ROOT/20261207T020000Z/manifest.json
                          database.dump           pg_dump --format=custom
                          attachments/ab/ab12…    each file under its key in the store
    ROOT/.incomplete-…/                           a backup being written (renamed when done)

The dump and the list of files come from one snapshot of the database, so the backup holds
the file of every attachment row it holds (a file is stored before its row is committed).
Report files are left out: the council asks for a report again and it is compiled anew.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import re
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from flask import current_app
from sqlalchemy import select, text

from app.backups import postgres
from app.backups.postgres import BackupError
from app.extensions import db
from app.feedback.attachments import object_key
from app.models import Attachment
from app.models.base import utcnow
from app.storage import KEY, Missing, StoredFile, StoreError, attachment_store

FORMAT = 1
MANIFEST = "manifest.json"
DUMP = "database.dump"
FILES = "attachments"
NAME = re.compile(r"\d{8}T\d{6}Z")  # the UTC time the backup was started
CHUNK = 1 << 20


@dataclass
class Backup:
    path: Path
    manifest: dict
    removed: list[str] = field(default_factory=list)  # older backups dropped by retention

    @property
    def problems(self) -> list[str]:
        return self.manifest["problems"]


def create_backup(root: Path, keep: int | None = None) -> Backup:
    """A new backup in `root`; then only the newest `keep` backups there are kept."""
    url = _postgres_url()
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    with _lock(root):
        for leftover in root.glob(".incomplete-*"):  # from a run that was killed
            shutil.rmtree(leftover)
        name = _new_name(root)
        work = root / f".incomplete-{name}"
        work.mkdir(mode=0o700)
        try:
            manifest = _write_backup(work, url)
            (work / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True))
            work.rename(root / name)
        except BaseException:
            shutil.rmtree(work, ignore_errors=True)
            raise
        removed = prune(root, keep) if keep else []
    return Backup(root / name, manifest, removed)


def verify_backup(folder: Path) -> dict:
    """The manifest, once the dump and every file match its checksums and pg_restore can read
    the dump; BackupError naming what is damaged otherwise."""
    manifest = _read_manifest(folder)
    problems = []
    if _digest_of(folder / DUMP) != manifest["database"]["sha256"]:
        problems.append(f"{DUMP}: missing or changed")
    for key, entry in manifest["attachments"]["files"].items():
        if _digest_of(_file_in(folder, key)) != entry["sha256"]:
            problems.append(f"{FILES}/{key}: missing or changed")
    if problems:
        raise BackupError(f"{folder} is damaged: " + "; ".join(problems))
    postgres.check_archive(postgres.tool("pg_restore"), folder / DUMP)
    return manifest


def restore_backup(folder: Path) -> dict:
    """Put the backup's files into the configured store, then its dump into the configured
    database, which must be empty; the manifest, once every table holds the rows it lists.

    Files go first: should the database part fail, the database stays empty (the restore is
    one transaction) and the restore can simply be run again."""
    url = _postgres_url()
    manifest = verify_backup(folder)
    pg_restore = postgres.tool("pg_restore")
    with db.engine.connect() as connection:
        if postgres.has_tables(connection):
            raise BackupError(
                "the database is not empty: restore into a new, empty database (docs/backups.md)"
            )
        postgres.check_restore_client(pg_restore, postgres.server_major(connection))
    _put_files(folder, manifest["attachments"]["files"])
    postgres.restore(pg_restore, url, folder / DUMP)
    with db.engine.connect() as connection:
        rows = postgres.table_rows(connection)
    differ = sorted(
        name
        for name in rows.keys() | manifest["database"]["rows"].keys()
        if rows.get(name) != manifest["database"]["rows"].get(name)
    )
    if differ:
        raise BackupError("restored rows differ from the backup in " + ", ".join(differ))
    return manifest


def prune(root: Path, keep: int) -> list[str]:
    """Delete all but the newest `keep` complete backups in `root`; their names."""
    complete = sorted(
        path.name
        for path in root.iterdir()
        if path.is_dir() and NAME.fullmatch(path.name) and (path / MANIFEST).is_file()
    )
    removed = complete[:-keep] if keep > 0 else []
    for name in removed:
        shutil.rmtree(root / name)
    return removed


# --- writing -----------------------------------------------------------------------------------


def _write_backup(work: Path, url: str) -> dict:
    pg_dump = postgres.tool("pg_dump")
    # One REPEATABLE READ transaction: pg_dump takes its exported snapshot, so the dump, the row
    # counts and the list of files all describe the same moment.
    with db.engine.connect() as connection:
        connection = connection.execution_options(isolation_level="REPEATABLE READ")
        with connection.begin():
            snapshot = connection.scalar(text("SELECT pg_export_snapshot()"))
            server = connection.scalar(text("SHOW server_version"))
            postgres.check_dump_client(pg_dump, postgres.server_major(connection))
            postgres.dump(pg_dump, url, work / DUMP, snapshot)
            rows = postgres.table_rows(connection)
            revision = connection.scalar(text("SELECT version_num FROM alembic_version"))
            stored = connection.execute(
                select(Attachment.storage_key, Attachment.sha256, Attachment.content_type).order_by(
                    Attachment.id
                )
            ).all()
    files, problems = _copy_files(stored, work / FILES)
    return {
        "format": FORMAT,
        "created_at": utcnow().isoformat(),
        "database": {
            "file": DUMP,
            "sha256": _digest_of(work / DUMP),
            "size": (work / DUMP).stat().st_size,
            "server_version": server,
            "pg_dump": pg_dump.version,
            "alembic_revision": revision,
            "rows": rows,
        },
        "attachments": {
            "count": len(files),
            "bytes": sum(entry["size"] for entry in files.values()),
            "files": files,
        },
        "problems": problems,
    }


def _copy_files(stored: list, folder: Path) -> tuple[dict[str, dict], list[str]]:
    """Copy each attachment's file out of the store; what went wrong, file by file."""
    store = attachment_store()
    files: dict[str, dict] = {}
    problems: list[str] = []
    for storage_key, sha256, content_type in stored:
        key = object_key(storage_key)
        try:
            found = store.open(key)
        except Missing:
            problems.append(f"{key}: not in the attachment store")
            continue
        except StoreError as error:
            raise BackupError(f"the attachment store failed: {error}") from error
        digest, size = _copy(found, folder / key)
        if digest != sha256:
            problems.append(f"{key}: its checksum differs from the one taken at upload")
        files[key] = {"sha256": digest, "size": size, "content_type": content_type}
    return files, problems


def _copy(found: StoredFile, target: Path) -> tuple[str, int]:
    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    digest, size = hashlib.sha256(), 0
    source = found.path.open("rb") if found.path else found.stream
    with contextlib.closing(source), target.open("wb") as out:
        while chunk := source.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
            out.write(chunk)
    return digest.hexdigest(), size


def _new_name(root: Path) -> str:
    # Two backups started within one second (under the lock): the second waits for the next.
    while (root / (name := utcnow().strftime("%Y%m%dT%H%M%SZ"))).exists():
        time.sleep(0.2)
    return name


@contextlib.contextmanager
def _lock(root: Path) -> Iterator[None]:
    with (root / ".lock").open("w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as error:
            raise BackupError(f"another backup is being written into {root}") from error
        yield


# --- reading and restoring ------------------------------------------------------------------------


def _put_files(folder: Path, files: dict[str, dict]) -> None:
    store = attachment_store()
    for key, entry in files.items():
        data = _file_in(folder, key).read_bytes()
        if hashlib.sha256(data).hexdigest() != entry["sha256"]:  # changed since verified
            raise BackupError(f"{FILES}/{key} changed during the restore")
        try:
            store.put(key, data, entry["content_type"])
        except StoreError as error:
            raise BackupError(f"the attachment store failed: {error}") from error


def _read_manifest(folder: Path) -> dict:
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise BackupError(f"{folder} is not a complete backup (no readable {MANIFEST})") from error
    if manifest.get("format") != FORMAT:
        raise BackupError(f"{folder} was written in an unknown format")
    return manifest


def _file_in(folder: Path, key: str) -> Path:
    if not KEY.fullmatch(key):  # the manifest names no file outside the backup
        raise BackupError(f"{MANIFEST} names a file that is not an attachment key: {key!r}")
    return folder / FILES / key


def _digest_of(path: Path) -> str | None:
    if not path.is_file():
        return None
    digest = hashlib.sha256()
    with path.open("rb") as source:
        while chunk := source.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _postgres_url() -> str:
    url = current_app.config["SETTINGS"].database_url
    if not url.startswith(("postgresql:", "postgres:", "postgresql+")):
        raise BackupError(
            "backups are made of a PostgreSQL database; the embedded SQLite database is one"
            " file: stop the app and copy its instance folder (docs/backups.md)"
        )
    return url
