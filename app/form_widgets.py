"""Any WTForms field drawn as its GOV.UK Frontend component (`govuk-frontend-wtf`'s widgets):
label, hint, error message and input in one form group, wired for screen readers. Templates
call `govuk_field(form.name, hint=..., autocomplete=...)`; the forms keep WTForms' own fields."""

from __future__ import annotations

from typing import Any

from govuk_frontend_wtf import wtforms_widgets as gov
from markupsafe import Markup
from wtforms import Field

# A field's class name → the widget that draws it. Subclasses (PriorityField, the country
# checkboxes) resolve through their bases.
_WIDGETS: dict[str, type] = {
    "StringField": gov.GovTextInput,
    "EmailField": gov.GovTextInput,
    "URLField": gov.GovTextInput,
    "SearchField": gov.GovTextInput,
    "TelField": gov.GovTextInput,
    "IntegerField": gov.GovTextInput,
    "DecimalField": gov.GovTextInput,
    "DateField": gov.GovTextInput,
    "DateTimeLocalField": gov.GovTextInput,
    "TimeField": gov.GovTextInput,
    "PasswordField": gov.GovPasswordInput,
    "TextAreaField": gov.GovTextArea,
    "SelectField": gov.GovSelect,
    "BooleanField": gov.GovCheckboxInput,
    "RadioField": gov.GovRadioInput,
    "SelectMultipleField": gov.GovCheckboxesInput,
    "FileField": gov.GovFileInput,
    "MultipleFileField": gov.GovFileInput,
    "SubmitField": gov.GovSubmitInput,
}

# Input types a text box keeps, so that a phone shows the right keyboard.
_INPUT_TYPES = {"email", "url", "search", "tel", "number", "date", "datetime-local", "time"}


def _widget_for(field: Field) -> type:
    for klass in type(field).__mro__:
        if klass.__name__ in _WIDGETS:
            return _WIDGETS[klass.__name__]
    raise TypeError(f"no GOV.UK widget for {type(field).__name__}")


def govuk_field(
    field: Field, hint: str | None = None, params: dict[str, Any] | None = None, **attributes: Any
) -> Markup:
    """`field` as its component. `hint` is shown under the label; `params` go to the component's
    macro as they are (classes, fieldset legend, items' conditional reveals); any other keyword
    becomes an attribute of the input (autocomplete, inputmode, data-*)."""
    widget = _widget_for(field)
    merged: dict[str, Any] = dict(params or {})
    if hint:
        merged["hint"] = {"text": hint}
    elif not field.description:
        merged.setdefault("hint", None)  # no empty hint for aria-describedby to point at
    classes = attributes.pop("class_", None) or attributes.pop("class", None)
    if classes:
        merged["classes"] = f"{merged.get('classes', '')} {classes}".strip()
    input_type = getattr(field.widget, "input_type", None)
    if widget is gov.GovTextInput and input_type in _INPUT_TYPES:
        attributes.setdefault("type", input_type)
    if widget in (gov.GovRadioInput, gov.GovCheckboxesInput) and "fieldset" not in merged:
        merged["fieldset"] = {
            "legend": {"text": field.label.text, "classes": "govuk-fieldset__legend--s"}
        }
    if widget in (gov.GovRadioInput, gov.GovCheckboxesInput, gov.GovCheckboxInput):
        merged.setdefault("idPrefix", field.id)
    if field.errors and widget not in (gov.GovRadioInput, gov.GovCheckboxesInput):
        attributes.setdefault("aria-invalid", "true")
    return widget()(field, params=merged, **attributes)
