"""Forms of the admin pages: users' roles and accounts, consultations and their items."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import GovCharacterCount
from wtforms import (
    DateTimeLocalField,
    HiddenField,
    IntegerField,
    SearchField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import AnyOf, InputRequired, Length, NumberRange, Optional

from app.models import ConsultationState, ItemKind, Role


def role_choices() -> list[SelectChoice]:
    labels = {
        Role.STAKEHOLDER: _l("Stakeholder"),
        Role.MODERATOR: _l("Moderator"),
        Role.COUNCIL: _l("Council member"),
        Role.ADMIN: _l("Admin"),
    }
    return [SelectChoice(role.value, label) for role, label in labels.items()]


def role_labels() -> dict[str, str]:
    return {choice.value: choice.label for choice in role_choices()}


class RoleForm(FlaskForm):
    role = SelectField(_l("Role"), choices=role_choices(), validators=[InputRequired()])


class UserSearchForm(FlaskForm):
    """The users list's search box: read from the query string, so without a CSRF token."""

    class Meta:
        csrf = False

    q = SearchField(_l("Search by email or name"), validators=[Length(max=254)])


class ActivationForm(FlaskForm):
    """`active` is "1" to reactivate an account and "0" to deactivate it."""

    active = HiddenField(validators=[InputRequired(), AnyOf(["0", "1"])])


# --- consultations and items -----------------------------------------------------------------

LOCALE_NAMES = {"en": _l("English"), "es": _l("Spanish"), "fr": _l("French")}


def _localized(
    form_class: type, name: str, label: str, field: type, limit: int = 200, **options: object
) -> None:
    """Add `<name>_en`, `<name>_es` and `<name>_fr` to `form_class`; English is required. Each
    is at most `limit` characters: the validator's error is shown, the text is never cut."""
    for locale, language in LOCALE_NAMES.items():
        validators = [InputRequired()] if locale == "en" else [Optional()]
        full_label = _l("%(label)s (%(language)s)", label=label, language=language)
        setattr(
            form_class,
            f"{name}_{locale}",
            field(full_label, validators=[*validators, Length(max=limit)], **options),
        )


def localized_values(form: FlaskForm, name: str) -> dict[str, str]:
    return {locale: form[f"{name}_{locale}"].data or "" for locale in LOCALE_NAMES}


def fill_localized(form: FlaskForm, name: str, texts: dict[str, str]) -> None:
    for locale in LOCALE_NAMES:
        form[f"{name}_{locale}"].data = texts.get(locale, "")


def state_choices() -> list[SelectChoice]:
    return [
        SelectChoice("", _l("Follow the dates")),
        SelectChoice(ConsultationState.UPCOMING.value, _l("Upcoming, whatever the dates")),
        SelectChoice(ConsultationState.OPEN.value, _l("Open, whatever the dates")),
        SelectChoice(ConsultationState.CLOSED.value, _l("Closed, whatever the dates")),
    ]


# Shown to the second (so that 23:59:59 survives a save); browsers may send minutes only.
MOMENT_FORMATS = ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M"]


class ConsultationForm(FlaskForm):
    # Required when creating (the service checks it); fixed, hence not sent, when editing.
    slug = StringField(_l("Address (slug)"), validators=[Length(max=100)])
    opens_at = DateTimeLocalField(
        _l("Opens for comment (UTC)"), format=MOMENT_FORMATS, validators=[InputRequired()]
    )
    closes_at = DateTimeLocalField(
        _l("Closes for comment (UTC)"), format=MOMENT_FORMATS, validators=[InputRequired()]
    )
    state_override = SelectField(_l("State"), choices=state_choices(), validate_choice=True)
    seen = HiddenField()
    conflict: str | None = None  # set by the view when another admin saved first


_localized(ConsultationForm, "title", _l("Title"), StringField)
_localized(
    ConsultationForm,
    "summary",
    _l("Summary"),
    TextAreaField,
    limit=20_000,
    widget=GovCharacterCount(),
)


def kind_choices() -> list[SelectChoice]:
    return [
        SelectChoice(ItemKind.PLEDGE.value, _l("Pledge")),
        SelectChoice(ItemKind.RECOMMENDATION.value, _l("Recommendation")),
    ]


class ItemForm(FlaskForm):
    # Required when creating (the service checks it); fixed, hence not sent, when editing.
    code = StringField(_l("Code"), validators=[Length(max=20)])
    kind = SelectField(_l("Kind"), choices=kind_choices(), validators=[InputRequired()])
    position = IntegerField(
        _l("Position in the list"), validators=[InputRequired(), NumberRange(min=0, max=10_000)]
    )
    change_note = StringField(_l("What changed"), validators=[Optional(), Length(max=500)])
    seen_version = HiddenField()
    conflict: str | None = None  # set by the view when another admin saved first


_localized(ItemForm, "title", _l("Title"), StringField, limit=300)
_localized(
    ItemForm, "body", _l("Text (Markdown)"), TextAreaField, limit=50_000, widget=GovCharacterCount()
)
_localized(ItemForm, "source", _l("Source document"), StringField, limit=500)
