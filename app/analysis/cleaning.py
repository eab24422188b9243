"""Texts made fit for analysis: what people typed, without what is not their words.

Submissions arrive with markup pasted from word processors and web pages (sometimes a
`<script>` someone tried), redaction marks left by the moderators, e-mail addresses, phone
numbers and links. None of it says what a text is about, and all of it would otherwise lead
themes ("redacted", "script", "alert", "gmail"). `clean_text` removes it; `links` keeps the
sites a text points to, which say what it refers to across languages.
"""

from __future__ import annotations

import html
import re
from urllib.parse import urlsplit

import markdown
import nh3

from app.analysis.redaction import MARK

# Markdown: images and links keep their words, emphasis and heading marks go.
_MD_IMAGE = re.compile(r"!\[([^\]]*)\]\([^)]*\)")
_MD_LINK = re.compile(r"\[([^\]]+)\]\([^)]*\)")
_MD_MARKS = re.compile(
    r"(?m)^\s{0,3}(?:#{1,6}|>+)\s+"  # headings and quotes
    r"|(?<!\w)(?:\*\*|__|\*|_|`+|~~)(?=\S)"  # emphasis opening a word
    r"|(?<=\S)(?:\*\*|__|\*|_|`+|~~)(?!\w)"  # and closing it
)
_URL = re.compile(r"\b(?:https?://|www\.)[^\s<>\"')\]]+", re.IGNORECASE)
_EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")
# Seven or more digits with the usual separators: phone numbers ("+52 55 1234 5678",
# "(613) 555-0100"); dates and years have fewer digits in a row.
_PHONE = re.compile(r"(?<![\w+])(?!\d{4}-\d\d-\d\d\b)\+?\(?\d[\d\s().-]{5,}\d(?!\w)")
# Redaction marks: ours ("[redacted]", any case, any language's brackets), black bars and
# the runs of X some organisations type over names.
_REDACTED = re.compile(
    re.escape(MARK) + r"|\[\s*(?:redact\w*|censur\w*|supprim\w*|masqu\w*|eliminad\w*|"
    r"tachad\w*|geschw\w*|omiss\w*)\s*\]|█+|\bX{3,}\b",
    re.IGNORECASE,
)
_DIGIT_RUN = re.compile(r"\d[\d\s().-]{5,}\d")  # what _PHONE needs, found without look-arounds
_MD_CHARACTERS = ("*", "_", "`", "~", "#", ">")
_SPACE = re.compile(r"[ \t\u00a0\u202f]+")
_BLANK_LINES = re.compile(r"\n\s*\n+")


def clean_text(text: str) -> str:
    """`text` without markup, redaction marks, e-mail addresses, phone numbers or links.

    Tags are dropped (a script's or style's content with them), entities decoded, Markdown's
    marks removed with their words kept; line breaks are kept, since sentences and list
    points end there. What is left is the writer's words. Each pattern runs only on texts
    that hold the character it needs: most texts hold none, and a report cleans every
    distinct text."""
    if not text:
        return ""
    if "<" in text or "&" in text:
        text = html.unescape(nh3.clean(text, tags=set(), strip_comments=True))
    if "](" in text:
        text = _MD_LINK.sub(r"\1", _MD_IMAGE.sub(r"\1", text))
    if "://" in text or "www." in text or "WWW." in text:
        text = _URL.sub(" ", text)
    if "@" in text:
        text = _EMAIL.sub(" ", text)
    if "[" in text or "█" in text or "XXX" in text or "xxx" in text:
        text = _REDACTED.sub(" ", text)
    if _DIGIT_RUN.search(text):
        text = _PHONE.sub(" ", text)
    if any(mark in text for mark in _MD_CHARACTERS):
        text = _MD_MARKS.sub("", text)
    lines = [_SPACE.sub(" ", line).strip() for line in text.splitlines()]
    return _BLANK_LINES.sub("\n", "\n".join(lines)).strip()


def markdown_text(text: str) -> str:
    """Markdown as the plain text it reads as (a spreadsheet cell): marks and tags gone,
    paragraphs and list points on lines of their own."""
    rendered = markdown.markdown(text or "", extensions=["sane_lists"])
    rendered = rendered.replace("</p>", "</p>\n").replace("</li>", "</li>\n")
    return html.unescape(nh3.clean(rendered, tags=set())).strip()


def links(text: str) -> frozenset[str]:
    """The sites `text` links to, as host names without "www." ("unhcr.org")."""
    found = set()
    for match in _URL.findall(text or ""):
        address = match if "://" in match else "http://" + match
        try:
            host = urlsplit(address).hostname or ""
        except ValueError:  # a malformed address ("http://[::1")
            continue
        host = host.removeprefix("www.").rstrip(".")
        if "." in host:
            found.add(host)
    return frozenset(found)
