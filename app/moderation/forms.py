"""Forms of the moderation view."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length


class PublishForm(FlaskForm):
    submit = SubmitField(_l("Publish"))


class RejectForm(FlaskForm):
    reason = TextAreaField(
        _l("Reason given to the organisation"), validators=[DataRequired(), Length(max=2000)]
    )
    submit = SubmitField(_l("Reject"))
