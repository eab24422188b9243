"""Numbers, shares and dates in a report follow the reader's language."""

from __future__ import annotations

import pytest
from flask_babel import force_locale

from app import create_app
from app.templating import iso_day, number, percent, signed
from tests.helpers.services import app_settings


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    return create_app(app_settings(tmp_path_factory.mktemp("instance"), "", None, "numbers"))


@pytest.mark.parametrize(
    ("locale", "mean", "count", "share", "change", "day"),
    [
        ("en", "4.5", "12,345", "42%", "+3.5", "December 7, 2026"),
        ("es", "4,5", "12.345", "42\u00a0%", "+3,5", "7 de diciembre de 2026"),
        ("fr", "4,5", "12\u202f345", "42\u00a0%", "+3,5", "7 décembre 2026"),
    ],
)
def test_numbers_shares_changes_and_days_are_written_the_readers_way(
    app, locale, mean, count, share, change, day
):
    with app.test_request_context(), force_locale(locale):
        assert number(4.5, 1) == mean
        assert number(12345) == count
        assert percent(0.42) == share
        assert signed(3.5, 1) == change and signed(-2).startswith("-")
        assert iso_day("2026-12-07T18:01:02+00:00") == day


def test_a_missing_value_is_a_dash_not_an_error(app):
    with app.test_request_context():
        assert number(None) == percent(None) == signed(None) == "–"
        assert iso_day(None) == ""
