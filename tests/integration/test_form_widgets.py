"""`govuk_field`: any WTForms field drawn as its GOV.UK component, wired for screen readers."""

from __future__ import annotations

import re

import pytest
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    EmailField,
    PasswordField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired

from app.form_widgets import govuk_field

pytestmark = [pytest.mark.postgres]


class Everything(FlaskForm):
    class Meta:
        csrf = False

    name = StringField("Your name", validators=[DataRequired()])
    email = EmailField("Email")
    password = PasswordField("Password")
    opens = DateTimeLocalField("Opens")
    note = TextAreaField("Note")
    kind = SelectField("Kind", choices=[("ngo", "NGO"), ("faith", "Faith-based")])
    stance = RadioField("Stance", choices=[("support", "Support"), ("oppose", "Oppose")])
    countries = SelectMultipleField("Countries", choices=[("MX", "Mexico"), ("GT", "Guatemala")])
    agree = BooleanField("I agree")


@pytest.fixture
def form(app):
    with app.test_request_context(method="POST", data={"name": "", "kind": "faith"}):
        form = Everything()
        form.validate()
        yield form


def test_each_kind_of_field_becomes_its_component(form):
    assert 'class="govuk-input' in govuk_field(form.name)
    assert 'type="email"' in govuk_field(form.email)  # a phone shows its e-mail keyboard
    assert 'type="datetime-local"' in govuk_field(form.opens)
    assert "govuk-password-input" in govuk_field(form.password)
    assert 'class="govuk-textarea' in govuk_field(form.note)
    select = govuk_field(form.kind)
    assert 'class="govuk-select' in select
    assert re.search(r'<option value="faith" selected', select)  # the choice made is kept
    radios = govuk_field(form.stance)
    assert "govuk-radios" in radios and "<legend" in radios and "Stance" in radios
    checkboxes = govuk_field(form.countries)
    assert "govuk-checkboxes" in checkboxes and 'value="MX"' in checkboxes
    assert "govuk-checkboxes" in govuk_field(form.agree)


def test_an_error_is_shown_by_its_field_and_marked_for_screen_readers(form):
    html = govuk_field(form.name)
    assert "govuk-form-group--error" in html
    assert 'id="name-error"' in html and "This field is required" in html
    [tag] = re.findall(r"<input[^>]*>", html)
    assert 'aria-invalid="true"' in tag and "name-error" in tag


def test_a_hint_is_wired_to_its_input_and_no_empty_hint_is(form):
    html = govuk_field(form.email, hint="We write to this address.")
    assert 'id="email-hint"' in html and 'aria-describedby="email-hint"' in html
    assert "govuk-hint" not in govuk_field(form.stance)  # nothing to describe the radios with


def test_classes_and_attributes_reach_the_input(form):
    html = govuk_field(form.name, class_="govuk-input--width-20", autocomplete="name")
    [tag] = re.findall(r"<input[^>]*>", html)
    assert "govuk-input--width-20" in tag and 'autocomplete="name"' in tag
