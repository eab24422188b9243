"""Forms of the auth blueprint."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import GovRadioInput
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    PasswordField,
    RadioField,
    SelectField,
    StringField,
    SubmitField,
    URLField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import URL, DataRequired, Email, Length, Optional, ValidationError

from app import vocabulary
from app.accounts.passwords import password_problems
from app.models import LOCALES, OrganizationType
from app.parsing import parse_id


class LoginForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Email(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=1024)])
    remember = BooleanField(_l("Keep me signed in on this device for 14 days"))
    submit = SubmitField(_l("Sign in"))


class EmptyForm(FlaskForm):
    """Carries only the CSRF token, for POST-only buttons."""


def organization_type_choices() -> list[SelectChoice]:
    return [
        SelectChoice(kind, label) for kind, label in vocabulary.ORGANIZATION_TYPE_LABELS.items()
    ]


def locale_choices() -> list[SelectChoice]:
    names = {"en": "English", "es": "Español", "fr": "Français"}
    return [SelectChoice(code, names[code]) for code in LOCALES]


class StrongPassword:
    """Applies the password policy; the email field of the same form is taken into account."""

    def __call__(self, form: FlaskForm, field: PasswordField) -> None:
        email = form.email.data if hasattr(form, "email") and form.email.data else ""
        problems = password_problems(field.data or "", email)
        if problems:
            raise ValidationError(" ".join(problems))


class RegistrationForm(FlaskForm):
    name = StringField(_l("Your name"), validators=[DataRequired(), Length(max=200)])
    email = EmailField(_l("Email"), validators=[DataRequired(), Email(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), StrongPassword()])
    locale = SelectField(_l("Language for emails and pages"), choices=locale_choices())
    organization_choice = RadioField(
        _l("Your organisation"),
        choices=[
            SelectChoice("new", _l("Register a new organisation")),
            SelectChoice("join", _l("Ask to join an organisation already on Consulta")),
        ],
        default="new",
        validate_choice=False,  # checked below: not asked of invited colleagues
        # GOV.UK Frontend's radios: the page reveals the fields of the chosen answer only.
        widget=GovRadioInput(),
    )
    organization_name = StringField(_l("Organisation name"), validators=[Length(max=200)])
    organization_type = SelectField(
        _l("Type of organisation"), choices=organization_type_choices(), validate_choice=False
    )
    # Choices are set per request (country names are in the reader's language); the value is
    # checked by the service (app.organizations.countries).
    organization_country = SelectField(_l("Country"), choices=[], validate_choice=False)
    organization_website = URLField(
        _l("Website (optional)"), validators=[Optional(), URL(), Length(max=500)]
    )
    # Choices are set by the view; the value is checked below and by the service.
    join_organization_id = SelectField(
        _l("Organisation to join"), choices=[], coerce=str, validate_choice=False
    )
    invitation = HiddenField()
    submit = SubmitField(_l("Create account"))

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.organization_country.choices = vocabulary.organisation_country_choices()

    def validate_organization_choice(self, field: RadioField) -> None:
        if not self.invitation.data and field.data not in ("new", "join"):
            raise ValidationError(_l("Choose whether to register or join an organisation."))

    def validate_organization_type(self, field: SelectField) -> None:
        if self._creates_organization() and field.data not in {t.value for t in OrganizationType}:
            raise ValidationError(_l("Choose the type of organisation."))

    def validate_organization_name(self, field: StringField) -> None:
        if self._creates_organization() and not (field.data or "").strip():
            raise ValidationError(_l("Give the organisation's name."))

    def validate_organization_country(self, field: SelectField) -> None:
        if self._creates_organization() and not (field.data or "").strip():
            raise ValidationError(_l("Choose the organisation's country from the list."))

    def validate_join_organization_id(self, field: SelectField) -> None:
        if self.invitation.data or self.organization_choice.data != "join":
            return
        if parse_id(field.data) is None:
            raise ValidationError(_l("Choose the organisation to join."))

    def _creates_organization(self) -> bool:
        return not self.invitation.data and self.organization_choice.data == "new"


class ForgotPasswordForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Email(), Length(max=254)])
    submit = SubmitField(_l("Send me a reset link"))


class ResetPasswordForm(FlaskForm):
    password = PasswordField(_l("New password"), validators=[DataRequired(), StrongPassword()])
    submit = SubmitField(_l("Set the new password"))
