"""The structured feedback form."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, IntegerField, RadioField, SubmitField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, NumberRange, Optional

from app.models import Stance


def stance_choices() -> list[SelectChoice]:
    return [
        SelectChoice(Stance.SUPPORT.value, _l("Support")),
        SelectChoice(Stance.SUPPORT_WITH_AMENDMENTS.value, _l("Support with amendments")),
        SelectChoice(Stance.NEUTRAL.value, _l("Neutral")),
        SelectChoice(Stance.OPPOSE.value, _l("Oppose")),
    ]


class FeedbackForm(FlaskForm):
    stance = RadioField(
        _l("Your organisation's stance"), choices=stance_choices(), validators=[Optional()]
    )
    priority = IntegerField(
        _l("Priority (1 = low, 5 = highest)"),
        validators=[Optional(), NumberRange(min=1, max=5)],
    )
    comment = TextAreaField(_l("Comment"), validators=[Length(max=20000)])
    lock_version = HiddenField()
    save = SubmitField(_l("Save draft"))
    submit = SubmitField(_l("Submit feedback"))

    def validate_for_submission(self) -> bool:
        """Submitting needs a stance and a priority; a draft may be partial."""
        ok = True
        if not self.stance.data:
            self.stance.errors = [*self.stance.errors, _l("Choose a stance.")]
            ok = False
        if self.priority.data is None:
            self.priority.errors = [*self.priority.errors, _l("Give a priority from 1 to 5.")]
            ok = False
        return ok
