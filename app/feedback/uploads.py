"""What an uploaded file is: its size, its real type from its bytes, and for zip-based
documents (DOCX, ODT) a look at the central directory for macros, programs, unsafe paths and
zip bombs. Plain functions over bytes; attachments.py stores and guards what passes."""

from __future__ import annotations

import hashlib
import io
import re
import struct
import unicodedata
import zipfile
from dataclasses import dataclass
from pathlib import PurePath
from typing import BinaryIO

import filetype
from flask_babel import gettext as _

from app.errors import InvalidInput

MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024


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


READ_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class Inspected:
    content_type: str
    extension: str
    size: int
    sha256: str


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
        raise refused(
            _(
                "“%(name)s” is larger than 10 MB. Attach a smaller file.",
                name=display_name(filename),
            )
        )
    return data


def inspect_upload(data: bytes | BinaryIO, filename: str) -> Inspected:
    """What the file is, judged from its content; refuses what is not an accepted document.

    Raises InvalidInput(field="attachment") with a message naming the file.
    """
    data = read_upload(data, filename)
    name = display_name(filename)
    if not data:
        raise refused(_("“%(name)s” is empty.", name=name))
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
        raise refused(_("“%(name)s” contains macros. Save it as a plain document.", name=name))
    return found


def _check_zip_entries(entries: list[zipfile.ZipInfo], name: str) -> None:
    """Refuse entries that are programs, or whose names would climb out of any folder."""
    for entry in entries:
        for entry_name in (entry.filename, entry.orig_filename):
            if _is_unsafe_path(entry_name):
                raise refused(
                    _(
                        "“%(name)s” contains parts with unsafe names, so it cannot be accepted.",
                        name=name,
                    )
                )
            # Windows ignores trailing dots and spaces: "run.exe. " is "run.exe".
            ending = entry_name.split("\x00", 1)[0].rstrip(" .").lower()
            if ending.endswith(EXECUTABLE_EXTENSIONS):
                raise refused(
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
        raise refused(
            _(
                "“%(name)s” unpacks to far more than its size (too many parts or too much"
                " compressed content), so it cannot be accepted.",
                name=name,
            )
        )


def refused(message: str) -> InvalidInput:
    """A file that cannot be accepted: the input's fault (422), whatever the feedback's state."""
    return InvalidInput(message, field="attachment")


def _not_accepted(name: str) -> InvalidInput:
    return refused(
        _(
            "“%(name)s” is not a PDF, DOCX, ODT, PNG or JPEG file. Files are checked by their"
            " content, not their name.",
            name=name,
        )
    )


def _damaged(name: str) -> InvalidInput:
    return refused(_("“%(name)s” is damaged or could not be read.", name=name))


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
