"""Translations: every UI string is translated, placeholders survive, templates hold no raw text.

These tests need no database or broker. They re-extract the messages from the current sources with
the same configuration as `pybabel extract` (babel.cfg at the project root), so a new `_()` call
fails here until es and fr catalogs translate it.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.pofile import read_po

PROJECT = Path(__file__).resolve().parent.parent
TRANSLATIONS = PROJECT / "app" / "translations"
TEMPLATES = PROJECT / "app" / "templates"
LANGUAGES = ("es", "fr")
# Keep in step with the extract command: `_`, `gettext`, `ngettext` ... are babel's defaults.
EXTRA_KEYWORDS = ("_l", "lazy_gettext")

# %(name)s, %(m).1f, %(n)d ... : the whole conversion spec must survive, not only the name.
PLACEHOLDER = re.compile(r"%\((\w+)\)[#0 +\-]*(?:\d+|\*)?(?:\.(?:\d+|\*))?[diouxXeEfFgGcrsa]")


def _read_catalog(path: Path, locale: str | None = None) -> Catalog:
    with path.open("rb") as f:
        return read_po(f, locale=locale)


@pytest.fixture(scope="module")
def extracted(tmp_path_factory: pytest.TempPathFactory) -> Catalog:
    """A fresh .pot from the current sources, exactly as `pybabel extract` would build it."""
    pot = tmp_path_factory.mktemp("i18n") / "messages.pot"
    command = [sys.executable, "-m", "babel.messages.frontend", "extract", "-F", "babel.cfg"]
    for keyword in EXTRA_KEYWORDS:
        command += ["-k", keyword]
    # Scan "." from the project root: babel.cfg patterns start with app/; .venv is skipped.
    command += ["--no-location", "-o", str(pot), "."]
    result = subprocess.run(command, cwd=PROJECT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, f"pybabel extract failed:\n{result.stdout}\n{result.stderr}"
    catalog = _read_catalog(pot)
    assert len([m for m in catalog if m.id]) > 50, "extraction found suspiciously few messages"
    return catalog


@pytest.fixture(scope="module", params=LANGUAGES)
def translated(request: pytest.FixtureRequest) -> tuple[str, Catalog]:
    lang = request.param
    path = TRANSLATIONS / lang / "LC_MESSAGES" / "messages.po"
    assert path.is_file(), f"{path.relative_to(PROJECT)} is missing; run `pybabel init -l {lang}`"
    return lang, _read_catalog(path, locale=lang)


def _label(message: Message) -> str:
    msgid = message.id if isinstance(message.id, str) else " | ".join(message.id)
    return f"{msgid!r}" + (f" (context {message.context!r})" if message.context else "")


def _forms(message: Message) -> tuple[str, ...]:
    if isinstance(message.string, str):
        return (message.string,)
    return tuple(message.string or ())


def test_extraction_finds_template_and_python_strings(extracted: Catalog) -> None:
    ids = {m.id if isinstance(m.id, str) else m.id[0] for m in extracted if m.id}
    assert "Skip to main content" in ids, "strings in app/templates were not extracted"
    assert "Keep me signed in on this device for 14 days" in ids, (
        "lazy_gettext (_l) strings were not extracted"
    )
    assert "Page not found" in ids, "gettext (_) strings in app/*.py were not extracted"


def test_every_message_is_translated(extracted: Catalog, translated: tuple[str, Catalog]) -> None:
    lang, catalog = translated
    problems: list[str] = []
    for message in extracted:
        if not message.id:
            continue
        entry = catalog.get(message.id, context=message.context)
        if entry is None:
            problems.append(f"{_label(message)}: not in the catalog (run pybabel update)")
        elif entry.fuzzy:
            problems.append(f"{_label(message)}: fuzzy")
        elif entry.pluralizable != message.pluralizable:
            problems.append(f"{_label(message)}: singular/plural mismatch (run pybabel update)")
        elif entry.pluralizable and len(_forms(entry)) != catalog.num_plurals:
            problems.append(
                f"{_label(message)}: {len(_forms(entry))} plural forms, "
                f"{lang} needs {catalog.num_plurals}"
            )
        elif not all(form.strip() for form in _forms(entry)):
            problems.append(f"{_label(message)}: empty translation")
    assert not problems, (
        f"{len(problems)} message(s) missing from "
        f"app/translations/{lang}/LC_MESSAGES/messages.po:\n"
        + "\n".join(f"  - {p}" for p in problems)
    )


def test_catalog_header_is_not_fuzzy(translated: tuple[str, Catalog]) -> None:
    # `pybabel compile` silently skips a catalog whose header is fuzzy.
    lang, catalog = translated
    assert not catalog.fuzzy, f"the {lang} catalog header is marked fuzzy; it would not be compiled"


def test_translations_keep_placeholders(translated: tuple[str, Catalog]) -> None:
    lang, catalog = translated
    problems: list[str] = []
    for message in catalog:
        if not message.id:
            continue
        ids = (message.id,) if isinstance(message.id, str) else tuple(message.id)
        expected = {p for msgid in ids for p in PLACEHOLDER.findall(msgid)}
        expected_specs = {m.group(0) for msgid in ids for m in PLACEHOLDER.finditer(msgid)}
        for index, form in enumerate(_forms(message)):
            if not form:
                continue  # reported by test_every_message_is_translated
            found = set(PLACEHOLDER.findall(form))
            found_specs = {m.group(0) for m in PLACEHOLDER.finditer(form)}
            if found != expected or found_specs != expected_specs:
                where = "" if isinstance(message.id, str) else f" [form {index}]"
                problems.append(
                    f"{_label(message)}{where}: expected {sorted(expected_specs)}, "
                    f"got {sorted(found_specs)} in {form!r}"
                )
    assert not problems, f"{lang}: placeholders changed in translation:\n" + "\n".join(
        f"  - {p}" for p in problems
    )


# --- hard-coded text in templates ---------------------------------------------------------------

# Text that is deliberately the same in every language.
ALLOWED_TEMPLATE_TEXT = {"Consulta", "English", "Español", "Français"}
# Attributes that screen readers or browsers show to people.
USER_FACING_ATTRIBUTES = ("alt", "title", "placeholder", "aria-label", "aria-description")

_JINJA_STRING = r"""'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*\""""
_JINJA = re.compile(
    r"\{%-?\s*trans\b.*?\{%-?\s*endtrans\s*-?%\}"  # translated blocks (not used today)
    r"|\{#.*?#\}"
    rf"|\{{%(?:{_JINJA_STRING}|[^'\"%]|%(?!\}}))*%\}}"
    rf"|\{{\{{(?:{_JINJA_STRING}|[^'\"}}]|\}}(?!\}}))*\}}\}}",
    re.DOTALL,
)
_HTML_DROP = re.compile(r"<!--.*?-->|<(script|style)\b.*?</\1\s*>", re.DOTALL | re.IGNORECASE)
_HTML_TAG = re.compile(r"<[^>]*>", re.DOTALL)
_ATTRIBUTE_NAMES = "|".join(map(re.escape, USER_FACING_ATTRIBUTES))
_ATTRIBUTE = re.compile(rf"""\s({_ATTRIBUTE_NAMES})\s*=\s*(?:"([^"]*)"|'([^']*)')""", re.IGNORECASE)
_ENTITY = re.compile(r"&(?:[a-zA-Z][a-zA-Z0-9]*|#\d+|#[xX][0-9a-fA-F]+);")
# Words of letters, possibly joined by spaces, apostrophes, hyphens or punctuation into a phrase.
_WORD_RUN = re.compile(r"[^\W\d_]+(?:[\s'’\-,.:;!?]+[^\W\d_]+)*")
_GAP = "\x00"  # stands in for removed markup, so words on either side are not joined


def _blank(match: re.Match[str]) -> str:
    # Keep the line count so findings point at the right line.
    return _GAP + "\n" * match.group(0).count("\n")


def _text_runs(text: str) -> list[str]:
    return [
        run.group(0)
        for run in _WORD_RUN.finditer(text)
        if run.group(0) not in ALLOWED_TEMPLATE_TEXT
        and max(len(word) for word in re.findall(r"[^\W\d_]+", run.group(0))) >= 2
    ]


def hard_coded_text(source: str) -> list[tuple[int, str]]:
    """(line, text) for every piece of literal, user-facing text left in a template."""
    text = _JINJA.sub(_blank, source)
    text = _HTML_DROP.sub(_blank, text)
    found: list[tuple[int, str]] = []
    for tag in _HTML_TAG.finditer(text):
        line = text.count("\n", 0, tag.start()) + 1
        for attribute in _ATTRIBUTE.finditer(tag.group(0)):
            value = attribute.group(2) if attribute.group(2) is not None else attribute.group(3)
            found += [(line, f"{attribute.group(1)}={run!r}") for run in _text_runs(value)]
    text = _HTML_TAG.sub(_blank, text)
    text = _ENTITY.sub(_GAP, text)
    for run in _WORD_RUN.finditer(text):
        if _text_runs(run.group(0)):
            found.append((text.count("\n", 0, run.start()) + 1, run.group(0)))
    return sorted(found)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ('<p>{{ _("Fine") }}</p>', []),
        ("<p>Hello world</p>", ["Hello world"]),
        ("<button>Save</button>", ["Save"]),
        ('<a href="{{ url_for("x") }}" class="a b">{{ x }} · Consulta</a>', []),
        ('<nav aria-label="Main menu">{# Comment here #}</nav>', ["aria-label='Main menu'"]),
        ("<p>{{ '}} tricky' }} &nbsp; {% if x %}{% endif %}</p>", []),
        ("<p>Dear\n  {{ name }}, welcome</p>", ["Dear", "welcome"]),
    ],
)
def test_hard_coded_text_detector(source: str, expected: list[str]) -> None:
    assert [text.strip(", ") for _, text in hard_coded_text(source)] == expected


@pytest.mark.parametrize(
    "template",
    sorted(TEMPLATES.rglob("*.html")),
    ids=lambda path: str(path.relative_to(TEMPLATES)),
)
def test_templates_have_no_hard_coded_text(template: Path) -> None:
    findings = hard_coded_text(template.read_text(encoding="utf-8"))
    where = template.relative_to(PROJECT)
    assert not findings, "untranslated text (wrap it in {{ _(...) }}):\n" + "\n".join(
        f"  {where}:{line}: {text!r}" for line, text in findings
    )
