"""What an uploaded file is, judged from its content: accepted documents, refused disguises."""

from __future__ import annotations

import hashlib
import io
import zipfile

import pytest

from app.errors import InvalidInput
from app.feedback.uploads import (
    DOCX,
    EXECUTABLE_EXTENSIONS,
    JPEG,
    MAX_ATTACHMENT_BYTES,
    MAX_FILENAME_LENGTH,
    MAX_ZIP_ENTRIES,
    ODT,
    PDF,
    PNG,
    display_name,
    inspect_upload,
)
from tests.helpers.files import (
    docx_bomb_streamed,
    docx_bytes,
    docx_declaring,
    docx_highly_compressed,
    docx_with_many_entries,
    jpeg_bytes,
    odt_bytes,
    pdf_bytes,
    png_bytes,
    zip_of,
)


def refusal_without_unpacking(monkeypatch, data: bytes, name: str) -> str:
    """The refusal of `data`, failing the test if any zip entry is opened (decompressed)."""

    def refuse(*_args, **_kwargs):
        raise AssertionError("a zip entry was decompressed")

    monkeypatch.setattr(zipfile.ZipFile, "open", refuse)
    return refusal(data, name)


def refusal(data: bytes, name: str) -> str:
    with pytest.raises(InvalidInput) as caught:
        inspect_upload(data, name)
    assert caught.value.field == "attachment"
    return caught.value.message


# --- accepted -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("build", "name", "content_type", "extension"),
    [
        (pdf_bytes, "brief.pdf", PDF, "pdf"),
        (png_bytes, "chart.png", PNG, "png"),
        (jpeg_bytes, "photo.jpeg", JPEG, "jpg"),
        (docx_bytes, "position.docx", DOCX, "docx"),
        (odt_bytes, "position.odt", ODT, "odt"),
    ],
)
def test_each_accepted_type_is_recognised_from_its_content(build, name, content_type, extension):
    data = build()
    inspected = inspect_upload(data, name)
    assert inspected.content_type == content_type
    assert inspected.extension == extension
    assert inspected.size == len(data)
    assert inspected.sha256 == hashlib.sha256(data).hexdigest()


def test_the_name_does_not_decide_the_type():
    assert inspect_upload(png_bytes(), "scan.pdf").content_type == PNG
    assert inspect_upload(docx_bytes(), "no-extension").content_type == DOCX


def test_a_stream_is_read_like_bytes():
    data = pdf_bytes()
    assert inspect_upload(io.BytesIO(data), "brief.pdf").sha256 == hashlib.sha256(data).hexdigest()


def test_a_file_of_exactly_ten_megabytes_is_accepted():
    data = pdf_bytes(padding=MAX_ATTACHMENT_BYTES - len(pdf_bytes()))
    assert len(data) == MAX_ATTACHMENT_BYTES
    assert inspect_upload(data, "big.pdf").size == MAX_ATTACHMENT_BYTES


# --- refused disguises ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "executable",
    [
        b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + bytes(200),  # Windows PE
        b"\x7fELF\x02\x01\x01\x00" + bytes(200),  # Linux ELF
        b"#!/bin/sh\nrm -rf ~\n",  # a script
    ],
)
def test_an_executable_renamed_to_pdf_is_refused(executable):
    message = refusal(executable, "x.pdf")
    assert "“x.pdf” is not a PDF, DOCX, ODT, PNG or JPEG file" in message
    assert "checked by their content" in message


def test_an_executable_with_a_document_appended_is_refused():
    # zipfile itself would read this self-extracting shape: the zip must start the file.
    assert "is not a PDF" in refusal(b"MZ" + bytes(100) + docx_bytes(), "x.docx")


def test_a_pdf_header_later_in_the_file_is_refused():
    assert "is not a PDF" in refusal(b"junk" + pdf_bytes(), "x.pdf")


def test_a_plain_zip_renamed_to_docx_is_refused():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("payload.exe", b"MZ")
    assert "is not a PDF" in refusal(buffer.getvalue(), "x.docx")


def test_another_opendocument_kind_is_refused():
    spreadsheet = odt_bytes("application/vnd.oasis.opendocument.spreadsheet")
    assert "is not a PDF" in refusal(spreadsheet, "x.odt")


def test_a_word_document_with_macros_is_refused():
    with_macros = docx_bytes(extra={"word/vbaProject.bin": b"\xd0\xcf\x11\xe0"})
    assert "contains macros" in refusal(with_macros, "x.docx")


@pytest.mark.parametrize(
    "entry",
    [
        "Basic/Standard/Module1.xml",
        "Basic/script-lc.xml",
        "Scripts/python/evil.py",
        "Scripts/beanshell/Library/macro.bsh",
    ],
)
def test_an_opendocument_text_with_macros_is_refused(entry):
    with_macros = odt_bytes(extra={entry: b"<macro/>"})
    assert refusal(with_macros, "x.odt") == (
        "“x.odt” contains macros. Save it as a plain document."
    )


def test_an_opendocument_text_whose_name_merely_resembles_a_macro_folder_is_accepted():
    data = odt_bytes(extra={"Pictures/Basic/chart.png": png_bytes(), "BasicNotes.xml": b"<x/>"})
    assert inspect_upload(data, "x.odt").content_type == ODT


def test_a_word_package_without_its_main_document_is_refused():
    no_document = zip_of(
        {
            "[Content_Types].xml": b'<?xml version="1.0"?><Types/>',
            "word/styles.xml": b'<?xml version="1.0"?><w:styles/>',
        }
    )
    assert "is not a PDF, DOCX, ODT, PNG or JPEG file" in refusal(no_document, "x.docx")


@pytest.mark.parametrize("extension", EXECUTABLE_EXTENSIONS)
@pytest.mark.parametrize(("build", "name"), [(docx_bytes, "x.docx"), (odt_bytes, "x.odt")])
def test_a_document_carrying_a_program_is_refused(build, name, extension):
    data = build(extra={f"media/payload{extension.upper()}": b"MZ"})
    assert refusal(data, name) == (
        f"“{name}” contains a program file. Only plain documents are accepted."
    )


@pytest.mark.parametrize("entry", ["word/run.exe.", "word/run.bat ", "word/deep/x.Js"])
def test_a_program_with_a_disguised_ending_is_refused(entry):
    assert "contains a program file" in refusal(docx_bytes(extra={entry: b"MZ"}), "x.docx")


def test_the_required_executable_extensions_are_all_named():
    required = {
        ".exe", ".dll", ".bat", ".cmd", ".com", ".js", ".vbs", ".ps1", ".sh", ".jar", ".msi",
        ".scr",
    }  # fmt: skip
    assert required <= set(EXECUTABLE_EXTENSIONS)


@pytest.mark.parametrize(
    "entry",
    [
        "../evil.xml",
        "word/../../evil.xml",
        "word/..",
        "..\\..\\evil.xml",
        "/etc/cron.d/evil",
        "\\server\\share\\evil.xml",
        "C:/Windows/evil.xml",
        "c:evil.xml",
    ],
)
@pytest.mark.parametrize(("build", "name"), [(docx_bytes, "x.docx"), (odt_bytes, "x.odt")])
def test_a_document_with_a_path_escaping_its_folder_is_refused(build, name, entry):
    data = build(extra={entry: b"<x/>"})
    assert refusal(data, name) == (
        f"“{name}” contains parts with unsafe names, so it cannot be accepted."
    )


def test_dots_inside_a_part_name_are_not_traversal():
    data = docx_bytes(extra={"word/media/image..1.png": png_bytes(), "word/...xml": b"<x/>"})
    assert inspect_upload(data, "x.docx").content_type == DOCX


def test_a_damaged_zip_is_refused():
    data = docx_bytes()
    assert refusal(data[: len(data) // 2], "x.docx")


def test_an_empty_file_is_refused():
    assert refusal(b"", "empty.pdf") == "“empty.pdf” is empty."


# --- size -------------------------------------------------------------------------------------


def test_an_eleven_megabyte_file_is_refused():
    data = pdf_bytes(padding=11 * 1024 * 1024)
    assert refusal(data, "big.pdf") == "“big.pdf” is larger than 10 MB. Attach a smaller file."


class EndlessZeros(io.RawIOBase):
    def __init__(self) -> None:
        self.served = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        buffer[:] = bytes(len(buffer))
        self.served += len(buffer)
        return len(buffer)


def test_a_large_stream_is_not_read_past_the_limit():
    stream = EndlessZeros()
    with pytest.raises(InvalidInput, match="larger than 10 MB"):
        inspect_upload(stream, "endless.pdf")
    assert stream.served <= MAX_ATTACHMENT_BYTES + 1


# --- zip bombs, refused from the central directory alone ----------------------------------------


def test_a_zip_bomb_disguised_as_docx_is_refused_without_unpacking(monkeypatch):
    bomb = docx_bomb_streamed(200)
    assert len(bomb) < MAX_ATTACHMENT_BYTES
    message = refusal_without_unpacking(monkeypatch, bomb, "report.docx")
    assert "“report.docx” unpacks to far more than its size" in message


def test_a_docx_declaring_a_huge_unpacked_size_is_refused(monkeypatch):
    data = docx_declaring(0xF000_0000)
    assert "unpacks to far more" in refusal_without_unpacking(monkeypatch, data, "x.docx")


def test_a_docx_with_a_huge_compression_ratio_is_refused(monkeypatch):
    data = docx_highly_compressed(5)
    assert "unpacks to far more" in refusal_without_unpacking(monkeypatch, data, "x.docx")


def test_a_docx_with_too_many_parts_is_refused(monkeypatch):
    data = docx_with_many_entries(MAX_ZIP_ENTRIES)
    assert "unpacks to far more" in refusal_without_unpacking(monkeypatch, data, "x.docx")


def test_a_docx_just_within_the_part_limit_is_accepted():
    data = docx_with_many_entries(MAX_ZIP_ENTRIES - 3)  # plus the three parts of every docx
    assert inspect_upload(data, "x.docx").content_type == DOCX


# --- the name shown and offered for download ------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "shown"),
    [
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\ana\\Position paper.pdf", "Position paper.pdf"),
        ("report\x00\n\r.pdf", "report.pdf"),
        ("invoice\u202efdp.exe", "invoicefdp.exe"),  # no right-to-left override
        ("  spaced   out  .pdf ", "spaced out.pdf"),
        ("", "attachment"),
        ("...", "attachment"),
    ],
)
def test_display_names_lose_folders_and_control_characters(given, shown):
    assert display_name(given) == shown


def test_display_names_take_the_extension_of_the_content():
    assert display_name("scan.pdf", "png") == "scan.pdf.png"
    assert display_name("photo.JPEG", "jpg") == "photo.JPEG"
    assert display_name("notes", "odt") == "notes.odt"


def test_long_display_names_are_cut_but_keep_their_extension():
    name = display_name("a" * 300 + ".docx", "docx")
    assert len(name) == MAX_FILENAME_LENGTH
    assert name.endswith("a.docx")
