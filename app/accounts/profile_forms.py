"""Forms of the "My account" pages."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, Email, Length

from app.accounts.auth_forms import StrongPassword, locale_choices


def _current_password() -> PasswordField:
    return PasswordField(_l("Your current password"), validators=[DataRequired(), Length(max=1024)])


class ProfileForm(FlaskForm):
    name = StringField(_l("Your name"), validators=[DataRequired(), Length(max=200)])
    locale = SelectField(_l("Language for emails and pages"), choices=locale_choices())
    submit = SubmitField(_l("Save"))


class ChangePasswordForm(FlaskForm):
    current_password = _current_password()
    new_password = PasswordField(_l("New password"), validators=[DataRequired(), StrongPassword()])
    submit = SubmitField(_l("Change the password"))


class ChangeEmailForm(FlaskForm):
    current_password = _current_password()
    new_email = EmailField(
        _l("New email address"), validators=[DataRequired(), Email(), Length(max=254)]
    )
    submit = SubmitField(_l("Send a confirmation link"))


class ApiTokenForm(FlaskForm):
    name = StringField(_l("Token name"), validators=[DataRequired(), Length(max=100)])
    submit = SubmitField(_l("Create a token"))


class DeleteAccountForm(FlaskForm):
    current_password = _current_password()
    confirm = BooleanField(
        _l("I understand that my account will be deleted and cannot be restored"),
        validators=[DataRequired(message=_l("Tick the box to confirm."))],
    )
    submit = SubmitField(_l("Delete my account"))
