"""Files attached to feedback: content checks, storage outside the web root, who may read."""

from __future__ import annotations

import hashlib
import io
import os
import re
import secrets
import struct
import tempfile
import unicodedata
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import BinaryIO, NamedTuple

import filetype
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from app import audit
from app.accounts.permissions import acting_user
from app.errors import Conflict, Forbidden, InvalidState, NotFound
from app.extensions import db
from app.feedback import positions
from app.models import (
    Attachment,
    Consultation,
    ConsultationState,
    Disclosure,
    Feedback,
    FeedbackState,
    Item,
    Role,
    User,
)
from app.models.base import utcnow

MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
MAX_ATTACHMENTS_PER_FEEDBACK = 5
MAX_FILENAME_LENGTH = 120

# Zip containers (DOCX, ODT) are judged from their central directory alone, never unpacked.
MAX_ZIP_ENTRIES = 1000
MAX_ZIP_UNCOMPRESSED_BYTES = 100 * 1024 * 1024
MAX_ZIP_COMPRESSION_RATIO = 100
# Small entries (a few KB of repeated XML) can compress beyond the ratio harmlessly; the total
# above already bounds them.
ZIP_RATIO_CHECK_MIN_BYTES = 1024 * 1024
# A document never needs to carry a program; an entry ending like one refuses the whole file.
EXECUTABLE_EXTENSIONS = (
    ".exe",
    ".dll",
    ".bat",
    ".cmd",
    ".com",
    ".js",
    ".vbs",
    ".ps1",
    ".sh",
    ".jar",
    ".msi",
    ".scr",
)
# Where an OpenDocument file keeps its macros (Basic, or scripts in Python, BeanShell, JavaScript).
ODT_MACRO_FOLDERS = ("basic/", "scripts/")
# A Word package must hold its main document, not merely some part under `word/`.
DOCX_CONTENT_TYPES = "[Content_Types].xml"
DOCX_MAIN_DOCUMENT = "word/document.xml"
# An entry name starting like "C:" names a Windows drive.
DRIVE_PREFIX = re.compile(r"[A-Za-z]:")

PDF = "application/pdf"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
ODT = "application/vnd.oasis.opendocument.text"
PNG = "image/png"
JPEG = "image/jpeg"
ZIP = "application/zip"

# The accepted types, with the extension a downloaded copy gets and the ones a name may carry.
EXTENSIONS: dict[str, tuple[str, ...]] = {
    PDF: ("pdf",),
    DOCX: ("docx",),
    ODT: ("odt",),
    PNG: ("png",),
    JPEG: ("jpg", "jpeg"),
}

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
JPEG_SIGNATURE = b"\xff\xd8\xff"
ZIP_SIGNATURE = b"PK\x03\x04"
STORAGE_KEY = re.compile(r"[0-9a-f]{32}")
READ_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class Inspected:
    content_type: str
    extension: str
    size: int
    sha256: str


class PublicAttachment(NamedTuple):
    id: int
    filename: str
    content_type: str
    size: int


# --- checking what was uploaded ---------------------------------------------------------------


def read_upload(upload: bytes | BinaryIO, filename: str) -> bytes:
    """The uploaded bytes, reading no more than one byte past the size limit."""
    if isinstance(upload, bytes | bytearray | memoryview):
        data = bytes(upload)
    else:
        parts, total = [], 0
        while total <= MAX_ATTACHMENT_BYTES:
            chunk = upload.read(min(READ_CHUNK, MAX_ATTACHMENT_BYTES + 1 - total))
            if not chunk:
                break
            parts.append(chunk)
            total += len(chunk)
        data = b"".join(parts)
    if len(data) > MAX_ATTACHMENT_BYTES:
        raise _refused(
            _(
                "“%(name)s” is larger than 10 MB. Attach a smaller file.",
                name=display_name(filename),
            )
        )
    return data


def inspect_upload(data: bytes | BinaryIO, filename: str) -> Inspected:
    """What the file is, judged from its content; refuses what is not an accepted document.

    Raises InvalidState(field="attachment") with a message naming the file.
    """
    data = read_upload(data, filename)
    name = display_name(filename)
    if not data:
        raise _refused(_("“%(name)s” is empty.", name=name))
    content_type = _content_type(data, name)
    return Inspected(
        content_type=content_type,
        extension=EXTENSIONS[content_type][0],
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
    )


def _content_type(data: bytes, name: str) -> str:
    # filetype's signatures and ours must agree: a file that only one of them accepts is refused.
    guess = filetype.guess(data[:8192])
    sniffed = guess.mime if guess is not None else None
    if data.startswith(b"%PDF-") and sniffed == PDF:
        return PDF
    if data.startswith(PNG_SIGNATURE) and data[12:16] == b"IHDR" and sniffed == PNG:
        return PNG
    if data.startswith(JPEG_SIGNATURE) and sniffed == JPEG:
        return JPEG
    if data.startswith(ZIP_SIGNATURE) and sniffed in (ZIP, DOCX, ODT):
        found = _zip_document_type(data, name)
        if sniffed in (DOCX, ODT) and sniffed != found:
            raise _not_accepted(name)
        return found
    raise _not_accepted(name)


def _zip_document_type(data: bytes, name: str) -> str:
    """DOCX or ODT, decided from the central directory; only ODT's tiny `mimetype` is read."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        entries = archive.infolist()
        _check_zip_limits(entries, name)
        names = [entry.filename for entry in entries]
        lowered = {n.replace("\\", "/").lower() for n in names}
        found = None
        if DOCX_CONTENT_TYPES in names and DOCX_MAIN_DOCUMENT in lowered:
            found = DOCX
        elif "mimetype" in names:
            with archive.open("mimetype") as entry:
                declared = entry.read(len(ODT) + 1)
            if declared == ODT.encode("ascii"):
                found = ODT
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, NotImplementedError) as error:
        raise _damaged(name) from error
    except (ValueError, struct.error, OSError, RuntimeError) as error:  # malformed headers
        raise _damaged(name) from error
    if found is None:
        raise _not_accepted(name)
    _check_zip_entries(entries, name)
    if found == DOCX:
        has_macros = any(n.endswith("vbaproject.bin") for n in lowered)
    else:
        has_macros = any(n.startswith(ODT_MACRO_FOLDERS) for n in lowered)
    if has_macros:
        raise _refused(_("“%(name)s” contains macros. Save it as a plain document.", name=name))
    return found


def _check_zip_entries(entries: list[zipfile.ZipInfo], name: str) -> None:
    """Refuse entries that are programs, or whose names would climb out of any folder."""
    for entry in entries:
        for entry_name in (entry.filename, entry.orig_filename):
            if _is_unsafe_path(entry_name):
                raise _refused(
                    _(
                        "“%(name)s” contains parts with unsafe names, so it cannot be accepted.",
                        name=name,
                    )
                )
            # Windows ignores trailing dots and spaces: "run.exe. " is "run.exe".
            ending = entry_name.split("\x00", 1)[0].rstrip(" .").lower()
            if ending.endswith(EXECUTABLE_EXTENSIONS):
                raise _refused(
                    _(
                        "“%(name)s” contains a program file. Only plain documents are accepted.",
                        name=name,
                    )
                )


def _is_unsafe_path(entry_name: str) -> bool:
    path = entry_name.replace("\\", "/")
    return (
        path.startswith("/")
        or DRIVE_PREFIX.match(path) is not None
        or any(part == ".." for part in path.split("/"))
    )


def _check_zip_limits(entries: list[zipfile.ZipInfo], name: str) -> None:
    total = sum(entry.file_size for entry in entries)
    too_packed = any(
        entry.file_size > ZIP_RATIO_CHECK_MIN_BYTES
        and entry.file_size > MAX_ZIP_COMPRESSION_RATIO * max(entry.compress_size, 1)
        for entry in entries
    )
    if len(entries) > MAX_ZIP_ENTRIES or total > MAX_ZIP_UNCOMPRESSED_BYTES or too_packed:
        raise _refused(
            _(
                "“%(name)s” unpacks to far more than its size (too many parts or too much"
                " compressed content), so it cannot be accepted.",
                name=name,
            )
        )


def _refused(message: str) -> InvalidState:
    return InvalidState(message, field="attachment")


def _not_accepted(name: str) -> InvalidState:
    return _refused(
        _(
            "“%(name)s” is not a PDF, DOCX, ODT, PNG or JPEG file. Files are checked by their"
            " content, not their name.",
            name=name,
        )
    )


def _damaged(name: str) -> InvalidState:
    return _refused(_("“%(name)s” is damaged or could not be read.", name=name))


def display_name(filename: str | None, extension: str | None = None) -> str:
    """A name safe to show and to offer for download: no folders, no control characters."""
    name = PurePath((filename or "").replace("\\", "/")).name
    name = unicodedata.normalize("NFC", name)
    # Cc: control characters; Cf: format characters such as the right-to-left override that
    # makes "fdp.exe" read as "exe.pdf".
    name = "".join(ch for ch in name if unicodedata.category(ch) not in ("Cc", "Cf", "Zl", "Zp"))
    name = " ".join(name.split()).strip(" .")
    stem, dot, suffix = name.rpartition(".")
    if not dot:
        stem, suffix = name, ""
    if extension is not None and suffix.lower() not in _extensions_of(extension):
        stem, suffix = name, extension  # the content decides the extension, not the name
    stem = stem or "attachment"
    room = MAX_FILENAME_LENGTH - (len(suffix) + 1 if suffix else 0)
    stem = stem[:room].rstrip(" .") or "attachment"
    return f"{stem}.{suffix}" if suffix else stem


def _extensions_of(extension: str) -> tuple[str, ...]:
    for extensions in EXTENSIONS.values():
        if extension in extensions:
            return extensions
    return (extension,)


# --- storage -----------------------------------------------------------------------------------


def upload_root() -> Path:
    """Where files live: `UPLOAD_PATH` if configured, else `<instance>/uploads` (not served)."""
    configured = current_app.config.get("UPLOAD_PATH")
    return Path(configured) if configured else Path(current_app.instance_path) / "uploads"


def storage_path(storage_key: str) -> Path:
    if not STORAGE_KEY.fullmatch(storage_key):
        raise NotFound(_("No such attachment."))
    return upload_root() / storage_key[:2] / storage_key


def _store(data: bytes) -> str:
    """Write `data` under a new random key; a reader never sees a half-written file."""
    key = secrets.token_hex(16)
    final = storage_path(key)
    final.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=final.parent, prefix=".upload-")
    try:
        with os.fdopen(descriptor, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, final)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return key


def _discard(storage_key: str) -> None:
    try:
        storage_path(storage_key).unlink(missing_ok=True)
    except OSError:
        current_app.logger.exception("could not delete attachment file %s", storage_key)


# --- adding, removing, listing, opening ---------------------------------------------------------


def can_change_attachments(
    feedback: Feedback | None, consultation: Consultation, *, is_lead: bool
) -> bool:
    """Whether a member may add or remove files now: an open window, and a draft (any member)
    or a position awaiting review (the lead). A published position's files change only after
    the lead submits a change, so nothing reaches the public page unreviewed."""
    if consultation.state_at(utcnow()) is not ConsultationState.OPEN:
        return False
    if feedback is None or feedback.state in positions.DRAFT_STATES:
        return True
    return feedback.state is FeedbackState.SUBMITTED and is_lead


def add_attachment(
    user_id: int,
    item_id: int,
    upload: bytes | BinaryIO,
    filename: str,
    disclosure: Disclosure,
) -> Attachment:
    """Attach a checked file to the organisation's feedback on the item (a draft is created)."""
    user = acting_user(user_id, Role.STAKEHOLDER)
    if user.organization_id is None:
        raise Forbidden(_("You need to belong to an organisation to give feedback."))
    item = db.session.get(Item, item_id)
    if item is None:
        raise NotFound(_("No such item."))
    _check_window(item.consultation)
    # Checked before any row is locked or created, so a refused file leaves no empty draft.
    data = read_upload(upload, filename)
    inspected = inspect_upload(data, filename)

    feedback = _locked_feedback(user.organization_id, item_id)
    _check_changeable(feedback, item.consultation, user)
    if feedback is None:
        feedback = positions.new_draft(item, user.organization_id, user.id)
        try:
            db.session.flush()
        except IntegrityError as error:  # a colleague started the draft at the same moment
            db.session.rollback()
            raise Conflict(
                _("A colleague changed this feedback just now. Please try again.")
            ) from error
    elif _count(feedback.id) >= MAX_ATTACHMENTS_PER_FEEDBACK:
        raise _refused(
            _(
                "You can attach at most %(n)s files. Remove one to attach another.",
                n=MAX_ATTACHMENTS_PER_FEEDBACK,
            )
        )

    key = _store(data)
    try:
        attachment = Attachment(
            feedback_id=feedback.id,
            filename=display_name(filename, inspected.extension),
            content_type=inspected.content_type,
            size=inspected.size,
            sha256=inspected.sha256,
            storage_key=key,
            disclosure=Disclosure(disclosure),
            uploaded_by_id=user.id,
        )
        db.session.add(attachment)
        _mark_changed(feedback)
        db.session.flush()
        audit.record(
            user.id,
            "attachment.add",
            "attachment",
            attachment.id,
            after={
                "feedback_id": feedback.id,
                "content_type": attachment.content_type,
                "size": attachment.size,
                "sha256": attachment.sha256,
                "disclosure": attachment.disclosure,
            },
        )
        _record_revision(feedback, user)
        db.session.commit()
    except BaseException:
        db.session.rollback()
        _discard(key)
        raise
    return attachment


def remove_attachment(user_id: int, attachment_id: int) -> Feedback:
    """Delete a file of the user's own organisation; returns the feedback it belonged to."""
    user = acting_user(user_id)
    attachment, feedback = _own_attachment(user, attachment_id, lock=True)
    _check_changeable(feedback, feedback.item.consultation, user)
    key = attachment.storage_key
    before = {
        "feedback_id": feedback.id,
        "content_type": attachment.content_type,
        "size": attachment.size,
        "sha256": attachment.sha256,
        "disclosure": attachment.disclosure,
    }
    db.session.delete(attachment)
    _mark_changed(feedback)
    db.session.flush()  # the revision's snapshot must no longer list the file
    audit.record(user.id, "attachment.remove", "attachment", attachment_id, before=before)
    _record_revision(feedback, user)
    db.session.commit()
    _discard(key)  # only once the row is gone, so a failed commit keeps a readable file
    return feedback


def item_of_own_attachment(user_id: int, attachment_id: int) -> Item:
    """The item a file of the user's own organisation is attached to; NotFound for others."""
    _attachment, feedback = _own_attachment(acting_user(user_id), attachment_id)
    return feedback.item


def attachments_of(feedback_id: int) -> list[Attachment]:
    """The files of one feedback, oldest first; for callers that may already see that feedback."""
    return list(
        db.session.scalars(
            select(Attachment)
            .where(Attachment.feedback_id == feedback_id)
            .order_by(Attachment.created_at, Attachment.id)
        )
    )


def public_attachments(feedback_ids: Iterable[int]) -> dict[int, list[PublicAttachment]]:
    """The public files of published feedback, by feedback id, in one query."""
    ids = sorted(set(feedback_ids))
    found: dict[int, list[PublicAttachment]] = {}
    if not ids:
        return found
    rows = db.session.execute(
        select(
            Attachment.feedback_id,
            Attachment.id,
            Attachment.filename,
            Attachment.content_type,
            Attachment.size,
        )
        .join(Feedback, Feedback.id == Attachment.feedback_id)
        .where(
            Attachment.feedback_id.in_(ids),
            Attachment.disclosure == Disclosure.PUBLIC,
            Feedback.state == FeedbackState.PUBLISHED,
        )
        .order_by(Attachment.feedback_id, Attachment.created_at, Attachment.id)
    )
    for feedback_id, *fields in rows:
        found.setdefault(feedback_id, []).append(PublicAttachment(*fields))
    return found


def open_attachment(viewer_id: int | None, attachment_id: int) -> tuple[Attachment, Path]:
    """The attachment and its file, if `viewer_id` (None for a visitor) may read it.

    Members of the owning organisation always may; moderators, council and admins once the
    feedback is no longer a draft; anyone else only public files of published feedback.
    Everything else is NotFound, so nobody learns that a file exists.
    """
    row = db.session.execute(
        select(Attachment, Feedback)
        .join(Feedback, Feedback.id == Attachment.feedback_id)
        .where(Attachment.id == attachment_id)
    ).first()
    if row is None:
        raise NotFound(_("No such attachment."))
    attachment, feedback = row
    viewer = db.session.get(User, viewer_id) if viewer_id is not None else None
    if viewer is not None and not viewer.active:
        viewer = None
    if not _may_read(viewer, attachment, feedback):
        raise NotFound(_("No such attachment."))
    path = storage_path(attachment.storage_key)
    if not path.is_file():
        current_app.logger.error("attachment %s has no file %s", attachment.id, path)
        raise NotFound(_("No such attachment."))
    return attachment, path


def is_public(attachment: Attachment) -> bool:
    """Whether anyone may read the file (so a response for it need not be private)."""
    return (
        attachment.disclosure is Disclosure.PUBLIC
        and attachment.feedback.state is FeedbackState.PUBLISHED
    )


def _may_read(viewer: User | None, attachment: Attachment, feedback: Feedback) -> bool:
    if viewer is not None and viewer.organization_id == feedback.organization_id:
        return True
    staff = (Role.MODERATOR, Role.COUNCIL, Role.ADMIN)
    if viewer is not None and viewer.role in staff and feedback.state is not FeedbackState.DRAFT:
        return True
    return feedback.state is FeedbackState.PUBLISHED and attachment.disclosure is Disclosure.PUBLIC


def _own_attachment(
    user: User, attachment_id: int, *, lock: bool = False
) -> tuple[Attachment, Feedback]:
    row = None
    if user.organization_id is not None and user.role is Role.STAKEHOLDER:
        query = (
            select(Attachment, Feedback)
            .join(Feedback, Feedback.id == Attachment.feedback_id)
            .where(
                Attachment.id == attachment_id,
                Feedback.organization_id == user.organization_id,
            )
        )
        row = db.session.execute(query.with_for_update(of=Feedback) if lock else query).first()
    if row is None:
        raise NotFound(_("No such attachment."))
    return row[0], row[1]


def _locked_feedback(organization_id: int, item_id: int) -> Feedback | None:
    # The row lock makes the count check and the insert one step for concurrent uploads.
    return db.session.scalar(
        select(Feedback)
        .where(Feedback.organization_id == organization_id, Feedback.item_id == item_id)
        .with_for_update()
    )


def _check_window(consultation: Consultation) -> None:
    if consultation.state_at(utcnow()) is not ConsultationState.OPEN:
        raise _refused(_("This consultation is not open for feedback."))


def _check_changeable(feedback: Feedback | None, consultation: Consultation, user: User) -> None:
    _check_window(consultation)
    if not can_change_attachments(feedback, consultation, is_lead=user.is_lead):
        raise _refused(_("The files of this position can no longer be changed by you."))


def _mark_changed(feedback: Feedback) -> None:
    # Submitted feedback awaits review: a new lock version stops a moderator from publishing
    # files they have not seen. Drafts are left alone, so a colleague's open form stays valid.
    if feedback.state is FeedbackState.SUBMITTED:
        feedback.updated_at = utcnow()


def _record_revision(feedback: Feedback, user: User) -> None:
    # A submitted position's files are part of what the moderators review: each change keeps a
    # snapshot, like an edit of its text. Drafts change freely and keep none.
    if feedback.state is FeedbackState.SUBMITTED:
        positions.record_revision(feedback, user.id)


def _count(feedback_id: int) -> int:
    return db.session.scalar(
        select(func.count()).select_from(Attachment).where(Attachment.feedback_id == feedback_id)
    )
