"""Forms of the moderation view."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import IntegerField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange


class DecisionForm(FlaskForm):
    """Carries the version of the text the moderator read."""

    lock_version = IntegerField(validators=[InputRequired(), NumberRange(min=1)])


class RejectForm(DecisionForm):
    reason = StringField(
        _l("Reason given to the organisation"), validators=[DataRequired(), Length(max=2000)]
    )
