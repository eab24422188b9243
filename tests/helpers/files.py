"""Real minimal files built in memory: accepted documents and images, archives and disguises."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib

from app.feedback.uploads import ODT


def pdf_bytes(padding: int = 0) -> bytes:
    body = (
        b"%PDF-1.4\n1 0 obj <</Type /Catalog /Pages 2 0 R>> endobj\n"
        b"2 0 obj <</Type /Pages /Kids [] /Count 0>> endobj\n"
    )
    return body + b"%" + b"x" * padding + b"\ntrailer <</Root 1 0 R>>\n%%EOF\n"


def png_bytes() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)  # 1×1, 8-bit RGB
    pixels = zlib.compress(b"\x00\xff\x00\x00")
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def jpeg_bytes() -> bytes:
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    return b"\xff\xd8" + app0 + b"\xff\xd9"


def docx_bytes(*, extra: dict[str, bytes] | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        archive.writestr("_rels/.rels", '<?xml version="1.0"?><Relationships/>')
        archive.writestr("word/document.xml", '<?xml version="1.0"?><w:document/>')
        for name, data in (extra or {}).items():
            archive.writestr(name, data)
    return buffer.getvalue()


def odt_bytes(mimetype: str = ODT, *, extra: dict[str, bytes] | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        # The OpenDocument rule: `mimetype` first and stored uncompressed.
        archive.writestr("mimetype", mimetype, compress_type=zipfile.ZIP_STORED)
        archive.writestr(
            "META-INF/manifest.xml", '<?xml version="1.0"?><manifest/>', zipfile.ZIP_DEFLATED
        )
        archive.writestr("content.xml", '<?xml version="1.0"?><office/>', zipfile.ZIP_DEFLATED)
        for name, data in (extra or {}).items():
            archive.writestr(name, data, zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


def zip_of(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def docx_bomb_streamed(megabytes: int = 200) -> bytes:
    """A DOCX-looking zip whose document unpacks to `megabytes` of zeros (~200 KB on disk)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        with archive.open("word/document.xml", "w", force_zip64=True) as entry:
            zeros = bytes(1024 * 1024)
            for _ in range(megabytes):
                entry.write(zeros)
    return buffer.getvalue()


def docx_declaring(uncompressed: int) -> bytes:
    """A tiny DOCX whose central directory claims `uncompressed` bytes for its document."""
    data = bytearray(docx_bytes())
    offset = 0
    while (offset := data.find(b"PK\x01\x02", offset)) != -1:
        name_length = struct.unpack_from("<H", data, offset + 28)[0]
        if data[offset + 46 : offset + 46 + name_length] == b"word/document.xml":
            struct.pack_into("<I", data, offset + 24, uncompressed)
        offset += 4
    return bytes(data)


def docx_highly_compressed(megabytes: int = 5) -> bytes:
    return docx_bytes(extra={"word/media/blank.bin": bytes(megabytes * 1024 * 1024)})


def docx_with_many_entries(count: int) -> bytes:
    return docx_bytes(extra={f"word/part{n}.xml": b"" for n in range(count)})
