"""The design system's packages: pinned by the lock file, built without GOV.UK's reserved font
and crown, and their Jinja macros and WTForms widgets rendering through the app; the favicon."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from flask import render_template_string
from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import GovCharacterCount, GovRadioInput
from wtforms import RadioField, TextAreaField
from wtforms.validators import InputRequired, Length

from app import create_app
from tests.helpers.services import app_settings

PROJECT = Path(__file__).resolve().parent.parent.parent
VENDOR = PROJECT / "app" / "static" / "vendor"
PACKAGES = ("govuk-frontend", "@ministryofjustice/frontend", "accessible-autocomplete", "sass")


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    application = create_app(app_settings(tmp_path_factory.mktemp("instance"), "", None, "fe"))
    application.config["WTF_CSRF_ENABLED"] = False
    return application


def test_the_lock_file_pins_exactly_the_versions_package_json_names_and_no_registry():
    wanted = json.loads((PROJECT / "package.json").read_text())["devDependencies"]
    lock = json.loads((PROJECT / "package-lock.json").read_text())
    assert set(wanted) == set(PACKAGES)
    for name, version in wanted.items():
        assert version[0].isdigit(), f"{name} must be pinned to one version"
        assert lock["packages"][f"node_modules/{name}"]["version"] == version
    # The lock records what was installed and its integrity, not where it came from.
    assert all("resolved" not in entry for entry in lock["packages"].values())
    # govuk-frontend-jinja 4.x follows govuk-frontend 6.x.
    assert wanted["govuk-frontend"].startswith("6.")


def test_the_built_stylesheet_has_no_gov_uk_typeface_or_crown():
    css = (VENDOR / "consulta.css").read_text(encoding="utf-8")
    assert ".govuk-button" in css and ".moj-filter" in css  # both systems are in it
    assert "@font-face" not in css and "GDS Transport" not in css
    # GOV.UK's crest and crown are not shipped (only the copyright logo's rule names the crest,
    # and no page uses that class).
    assert not [p for p in VENDOR.rglob("*") if "crest" in p.name or "crown" in p.name]
    templates = PROJECT / "app" / "templates"
    assert not any(
        "govuk-footer__copyright-logo" in page.read_text() for page in templates.rglob("*.html")
    )
    for script in (
        "govuk-frontend.min.js",
        "moj-frontend.min.js",
        "accessible-autocomplete.min.js",
    ):
        assert (VENDOR / script).stat().st_size > 10_000, script


def test_gov_uk_macros_render_through_the_apps_templates(app):
    with app.test_request_context():
        html = render_template_string(
            '{% from "govuk_frontend_jinja/components/tag/macro.html" import govukTag %}'
            '{{ govukTag({"text": "Published", "classes": "govuk-tag--green"}) }}'
        )
    assert '<strong class="govuk-tag govuk-tag--green">' in html and "Published" in html


class PriorityForm(FlaskForm):
    priority = RadioField(
        "Priority",
        choices=[(str(n), f"Priority {n}") for n in range(1, 6)],
        validators=[InputRequired("Choose a priority.")],
        widget=GovRadioInput(),
    )
    comment = TextAreaField("Comment", validators=[Length(max=20)], widget=GovCharacterCount())


def test_wtforms_widgets_show_every_choice_and_the_error_and_keep_what_was_typed(app):
    with app.test_request_context(method="POST", data={"comment": "x" * 25}):
        form = PriorityForm()
        assert not form.validate()
        html = render_template_string(
            "{{ form.priority(params={'hint': None}) }}"
            "{{ form.comment(params={'maxlength': 20}) }}",
            form=form,
        )
    assert html.count('type="radio"') == 5 and "Priority 5" in html
    assert "Choose a priority." in html and "govuk-error-message" in html
    assert "x" * 25 in html  # too long is an error, never a silent cut
    assert 'data-module="govuk-character-count"' in html and 'data-maxlength="20"' in html


def test_the_favicon_is_served(app):
    response = app.test_client().get("/favicon.ico")
    assert response.status_code == 200
    assert response.mimetype == "image/vnd.microsoft.icon"
    assert response.data[:4] == b"\x00\x00\x01\x00"  # an ICO file


def test_a_replaced_word_is_set_apart_from_its_replacement(app):
    from app.analysis.textdiff import word_diff

    runs = word_diff("Aid for Honduras now", "Aid for voluntary returns now")
    with app.test_request_context():
        html = render_template_string('{% include "consultations/_diff.html" %}', runs=runs)
    seen = re.sub(
        r"<[^>]+>", "", re.sub(r'<span class="govuk-visually-hidden">.*?</span>', "", html)
    )
    assert "Aid for Honduras voluntary returns now" in seen  # "Hondurasvoluntary" before
    assert "<del>" in html and "<ins>" in html
