"""The platform's words: a stance of no overall position and an organisation working across
countries have labels of their own, never a code or another category's label."""

from __future__ import annotations

import pytest
from flask_babel import force_locale

from app import create_app, vocabulary
from app.models.organization import INTERNATIONAL_COUNTRY
from app.organizations.countries import organisation_country
from tests.helpers.services import app_settings

INTERNATIONAL_LABEL = "International / several countries"


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    return create_app(app_settings(tmp_path_factory.mktemp("instance"), "", None, "q"))


@pytest.fixture
def english(app):
    with app.test_request_context(), force_locale("en"):
        yield


def test_no_overall_position_is_a_stance_of_its_own_with_its_label(english):
    assert vocabulary.STANCES[-1] == "no_position"
    assert vocabulary.stance_label("no_position") == "No overall position"
    assert vocabulary.stance_abbreviation("no_position") == "NP"
    choices = {choice.value: str(choice.label) for choice in vocabulary.stance_choices()}
    assert choices["no_position"] == "No overall position"
    assert choices["neutral"] == "Neutral"


def test_international_is_named_never_shown_as_its_stored_code(english):
    assert vocabulary.country_name(INTERNATIONAL_COUNTRY) == INTERNATIONAL_LABEL
    assert vocabulary.country_name("MX") == "Mexico"
    assert vocabulary.report_labels()["country"](INTERNATIONAL_COUNTRY) == INTERNATIONAL_LABEL
    assert vocabulary.breakdown_label("by_country", INTERNATIONAL_COUNTRY) == INTERNATIONAL_LABEL
    assert vocabulary.breakdown_label("by_country", "unknown") == "Not stated"


def test_organisation_country_choices_offer_international_first_then_named_countries(english):
    choices = vocabulary.organisation_country_choices()
    assert choices[0].value == ""  # nothing chosen until the person chooses
    assert (choices[1].value, str(choices[1].label)) == (INTERNATIONAL_COUNTRY, INTERNATIONAL_LABEL)
    labels = {choice.value: str(choice.label) for choice in choices[2:]}
    assert labels["MX"] == "Mexico" and INTERNATIONAL_COUNTRY not in labels
    assert all(label != code for code, label in labels.items())


@pytest.mark.parametrize(
    ("given", "stored"),
    [("XX", "XX"), ("xx", "XX"), (" mx ", "MX"), ("ZZ", None), ("XA", None), ("", None)],
)
def test_an_organisation_country_is_a_real_country_or_international(given, stored):
    assert organisation_country(given) == stored
