"""Forms of the organisation page."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, SubmitField
from wtforms.validators import DataRequired, Email, Length


class InviteColleagueForm(FlaskForm):
    email = EmailField(
        _l("Colleague's email address"), validators=[DataRequired(), Email(), Length(max=254)]
    )
    submit = SubmitField(_l("Send the invitation"))
