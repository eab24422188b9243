"""CSV files of organisations and their leads, for the onboarding import's tests."""

from __future__ import annotations

HEADER = "organisation_name,organisation_type,country,website,lead_name,lead_email,lead_language"


def csv_file(*lines: str, header: str = HEADER, bom: bool = False) -> bytes:
    """A UTF-8 file of the header and `lines` (each one already comma-separated)."""
    text = "\r\n".join([header, *lines]) + "\r\n"
    return ("\ufeff" if bom else "").encode() + text.encode()


def organisation_line(number: int, *, email: str | None = None, language: str = "en") -> str:
    return (
        f"Onboarded Organisation {number},ngo,MX,https://org{number}.example.org,"
        f"Lead {number},{email or f'lead{number}@onboarded.example.org'},{language}"
    )
