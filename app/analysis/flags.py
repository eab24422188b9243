"""Automatic moderation findings over plain text: personal data, links, profanity, short text.

Each detector returns `Finding`s: a flag kind, a code naming what was found and the
parameters of its reason (already masked), so the service can word it in any language.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from urllib.parse import urlsplit

# The values of app.models.FlagKind; analysis code stays free of the database layer.
PERSONAL_DATA = "personal_data"
LINKS = "links"
PROFANITY = "profanity"
SHORT_TEXT = "short_text"

SHORT_TEXT_LETTERS = 20
PROFANITY_LANGUAGES = ("en", "es", "fr")
PROFANITY_DIR = Path(__file__).resolve().parent.parent / "content" / "profanity"


@dataclass(frozen=True)
class Finding:
    kind: str  # a FlagKind value
    code: str  # what was found: email, phone, id_number, link, profanity, short_text
    params: dict[str, str | int] = field(default_factory=dict)


EMAIL = re.compile(r"(?<![\w.+-])([\w.+-]+)@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,})\b")
# A sentence's closing punctuation is not part of the link.
LINK = re.compile(r"(?<![\w@.])(?:https?://|www\.)[^\s<>\"')\]]*[^\s<>\"')\].,;:!?]", re.IGNORECASE)

# Identity documents.
CURP = re.compile(r"\b[A-Z]{4}\d{6}[HM][A-Z]{5}[A-Z0-9]\d\b", re.IGNORECASE)
SSN = re.compile(r"(?<![\d-])(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}(?![\d-])")
DOCUMENT_WORD = (
    r"(?:passport|pasaporte|passeport|id|dni|ine|curp|cédula|cedula|"
    r"carte d'identité|identity card|document|documento)"
)
DOCUMENT_NUMBER = re.compile(
    DOCUMENT_WORD
    + r"\s*(?:no\.?|number|n[°º]|núm\.?|num\.?|número|numéro|#)?\s*[:#]?\s*"
    + r"(?=[A-Z0-9-]*\d)([A-Z0-9][A-Z0-9-]{4,13}[A-Z0-9])\b",
    re.IGNORECASE,
)
# Capital letters then digits, as on most passports and national ID cards ("X1234567").
LETTERS_DIGITS = re.compile(r"\b[A-Z]{1,3}\d{6,10}[A-Z]?\b")

# Phone numbers: a run of digits and separators, judged afterwards by its shape and context.
PHONE_CANDIDATE = re.compile(r"(?<![\w+.,/-])\+?\(?\d[\d \t().-]{5,20}\d(?![\w-]|[.,]\d)")
PHONE_WORD = re.compile(
    r"(?:phone|tel|tél|teléfono|telefono|téléphone|telephone|cel|celular|móvil|movil|mobile|"
    r"portable|whatsapp|call|llamar|appeler)\W{0,5}$",
    re.IGNORECASE,
)
CURRENCY_BEFORE = re.compile(r"(?:[$€£]|usd|eur|mxn|us\$)\s*$", re.IGNORECASE)
CURRENCY_AFTER = re.compile(
    r"^\s*(?:[$€£%]|usd|eur|mxn|dollars?|dólares|dolares|euros?|pesos?|people|personas|personnes"
    r"|migrants?|migrantes)\b",
    re.IGNORECASE,
)
DATE = re.compile(r"^(?:\d{1,2}[./-]\d{1,2}[./-]\d{2,4}|\d{4}[./-]\d{1,2}[./-]\d{1,2})$")
YEARS = re.compile(r"^(?:(?:19|20)\d\d[ \t-]*)+$")
THOUSANDS = re.compile(r"^\d{1,3}(?:[ .]\d{3})+$")


def personal_data(text: str) -> list[Finding]:
    """Email addresses, phone numbers and identity-document numbers in `text`."""
    return _emails(text) + _id_numbers(text) + _phone_numbers(text)


def links(text: str) -> list[Finding]:
    return [Finding(LINKS, "link", {"masked": _mask_link(m.group())}) for m in LINK.finditer(text)]


def profanity(text: str) -> list[Finding]:
    """Words of the en/es/fr lists, whole words only, ignoring case and accents."""
    words = profanity_words()
    found = sorted({w for w in re.findall(r"\w+", fold(text)) if w in words})
    if not found:
        return []
    masked = ", ".join(w[0] + "*" * (len(w) - 1) for w in found)
    return [Finding(PROFANITY, "profanity", {"masked": masked, "count": len(found)})]


def short_text(text: str) -> list[Finding]:
    """A comment with fewer than SHORT_TEXT_LETTERS letters says too little to weigh."""
    letters = sum(ch.isalpha() for ch in text)
    if letters >= SHORT_TEXT_LETTERS:
        return []
    return [Finding(SHORT_TEXT, "short_text", {"letters": letters})]


def public_text_findings(text: str) -> list[Finding]:
    """Everything that must not be published unseen: personal data, links, profanity."""
    return personal_data(text) + links(text) + profanity(text)


def fold(text: str) -> str:
    """Lower case without accents: 'Cabrón' and 'CABRON' compare equal."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


@cache
def profanity_words() -> frozenset[str]:
    words: set[str] = set()
    for language in PROFANITY_LANGUAGES:
        for line in (PROFANITY_DIR / f"{language}.txt").read_text(encoding="utf-8").splitlines():
            line = line.strip()
            if line and not line.startswith("#"):
                words.add(fold(line))
    return frozenset(words)


# --- detectors ---------------------------------------------------------------------------


def _emails(text: str) -> list[Finding]:
    return [
        Finding(PERSONAL_DATA, "email", {"masked": f"{m.group(1)[0]}…@{m.group(2)}"})
        for m in EMAIL.finditer(text)
    ]


def _id_numbers(text: str) -> list[Finding]:
    spans: list[tuple[int, int]] = []
    findings = []
    for pattern, group in ((CURP, 0), (SSN, 0), (DOCUMENT_NUMBER, 1), (LETTERS_DIGITS, 0)):
        for match in pattern.finditer(text):
            start, end = match.span(group)
            if any(start < e and s < end for s, e in spans):
                continue
            spans.append((start, end))
            findings.append(
                Finding(PERSONAL_DATA, "id_number", {"masked": _mask_tail(match.group(group))})
            )
    return findings


def _phone_numbers(text: str) -> list[Finding]:
    taken = [m.span() for m in (*SSN.finditer(text), *EMAIL.finditer(text), *LINK.finditer(text))]
    findings = []
    for match in PHONE_CANDIDATE.finditer(text):
        start, end = match.span()
        if any(start < e and s < end for s, e in taken):
            continue
        if _looks_like_phone(match.group().strip(), text[:start], text[end:]):
            findings.append(Finding(PERSONAL_DATA, "phone", {"masked": _mask_tail(match.group())}))
    return findings


def _looks_like_phone(candidate: str, before: str, after: str) -> bool:
    digits = sum(ch.isdigit() for ch in candidate)
    if not 7 <= digits <= 15:
        return False
    if CURRENCY_BEFORE.search(before[-6:]) or CURRENCY_AFTER.match(after[:20]):
        return False  # a price or a head count
    if DATE.match(candidate) or YEARS.match(candidate):
        return False
    if PHONE_WORD.search(before[-25:]):
        return True
    if candidate.startswith("+"):
        return digits >= 8
    if THOUSANDS.match(candidate):
        return False  # "1 250 000": a quantity unless the text says it is a phone
    has_separator = any(not ch.isdigit() for ch in candidate)
    if not has_separator:
        return digits >= 10  # 5512345678, not a bare count like 12000000
    return digits >= 8 or re.fullmatch(r"\d{3}[-. ]\d{4}", candidate) is not None


def _mask_tail(value: str) -> str:
    """'…67': enough for a moderator to find it in the text, too little to be the data."""
    compact = re.sub(r"[^\w]", "", value)
    return "…" + compact[-2:]


def _mask_link(url: str) -> str:
    target = url if "://" in url else "http://" + url
    host = urlsplit(target).hostname or url
    return host.removeprefix("www.")
