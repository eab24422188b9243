"""Forms of the admin pages: a user's role and whether the account is active."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import AnyOf, InputRequired

from app.models import Role


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


class ActivationForm(FlaskForm):
    """`active` is "1" to reactivate an account and "0" to deactivate it."""

    active = HiddenField(validators=[InputRequired(), AnyOf(["0", "1"])])
