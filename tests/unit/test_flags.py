"""Automatic findings over plain text: what is flagged, and the near-misses that are not."""

from __future__ import annotations

import pytest

from app.analysis import flags


def codes(text: str) -> list[str]:
    return [finding.code for finding in flags.public_text_findings(text)]


def test_an_email_address_is_found_and_masked():
    [finding] = flags.personal_data("Write to ana.perez@example.org for details.")
    assert finding.kind == flags.PERSONAL_DATA
    assert finding.params["masked"] == "a…@example.org"


@pytest.mark.parametrize(
    "text",
    [
        "Call +52 55 1234 5678 any time",
        "Our office: (555) 123-4567",
        "llame al 55 1234 5678",
        "appelez le 06 12 34 56 78",
        "tel: 612 345 678",
        "5512345678",
    ],
)
def test_phone_numbers_in_international_and_local_formats_are_found(text):
    assert codes(text) == ["phone"]


@pytest.mark.parametrize(
    "text",
    [
        "Since 2021 the pledge has stalled.",
        "We give it priority 5 of 5.",
        "The programme costs $1,250,000 a year.",
        "It costs 1 250 000 € and reaches 12000000 people.",
        "Between 2019 and 2024, and on 12.05.2021 or 2021-05-12.",
        "Paragraph 4.2.1 of the report, 30% of 1500 cases.",
        "Report TF-HP-2 and pledge P1, COVID19, ISO 27001.",
    ],
)
def test_years_priorities_prices_dates_and_codes_are_not_personal_data(text):
    assert flags.personal_data(text) == []


@pytest.mark.parametrize(
    "text",
    [
        "my passport X1234567 was taken",
        "pasaporte núm. G12345678",
        "CURP GOMC800101HDFRRR09",
        "SSN 123-45-6789",
    ],
)
def test_identity_document_numbers_are_found_and_masked(text):
    findings = flags.personal_data(text)
    assert [f.code for f in findings] == ["id_number"]
    assert findings[0].params["masked"].startswith("…")
    assert len(findings[0].params["masked"]) == 3


def test_links_are_found_by_scheme_or_www_and_named_by_host():
    findings = flags.links("See https://www.evil.example.com/x?y=1 and www.foo.org.")
    assert [f.params["masked"] for f in findings] == ["evil.example.com", "foo.org"]
    assert flags.links("the e-mail ana@www.example.org and version 2.0") == []


def test_profanity_matches_whole_words_ignoring_case_and_accents_in_three_languages():
    [finding] = flags.profanity("Esto es una MIERDA, CABRON! Quelle merde. Bullshit.")
    assert finding.kind == flags.PROFANITY
    assert finding.params["count"] == 4
    assert "m*****" in finding.params["masked"]
    assert flags.profanity("Shitake mushrooms, con el conejo, a scrap of Scunthorpe") == []


def test_a_comment_with_fewer_than_twenty_letters_is_short():
    assert [f.code for f in flags.short_text("I agree! 100%")] == ["short_text"]
    assert flags.short_text("We support this pledge fully.") == []


def test_a_clean_comment_has_no_findings():
    assert codes("We support the expansion of regular pathways for labour migrants.") == []
