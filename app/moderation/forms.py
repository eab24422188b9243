"""Forms of the moderation view."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import (
    AnyOf,
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)

from app.moderation.redactions import REASON_MAX, REDACTABLE_FIELDS
from app.moderation.services import NOTE_MAX, OTHER_REASON, rejection_reasons


class DecisionForm(FlaskForm):
    """Carries the version of the text the moderator read, and whether the page it came from
    showed the submission's flags (its review page does; the queue's list does not)."""

    lock_version = IntegerField(validators=[InputRequired(), NumberRange(min=1)])
    flags_seen = BooleanField()


class RejectForm(DecisionForm):
    """The queue's quick reject: a free-text reason, kept as the reason "other" plus a note."""

    reason = StringField(
        _l("Reason given to the organisation"), validators=[DataRequired(), Length(max=2000)]
    )


class RejectWithReasonForm(DecisionForm):
    code = SelectField(
        _l("Reason"), validators=[DataRequired(message=_l("Choose a reason from the list."))]
    )
    note = TextAreaField(
        _l("Note to the organisation"),
        description=_l("Required when the reason is \u201cOther reason\u201d."),
        validators=[Length(max=NOTE_MAX)],
    )

    def __init__(self, *args, **kwargs) -> None:  # noqa: ANN002, ANN003
        super().__init__(*args, **kwargs)
        self.code.choices = [("", _l("Choose a reason"))] + rejection_reasons()

    def validate_note(self, field: TextAreaField) -> None:
        if self.code.data == OTHER_REASON and not (field.data or "").strip():
            raise ValidationError(_l("Explain the reason in the note."))


class RequestChangesForm(DecisionForm):
    message = TextAreaField(
        _l("Message to the organisation"),
        validators=[
            DataRequired(message=_l("Tell the organisation what to change.")),
            Length(max=NOTE_MAX),
        ],
    )


class NoteForm(FlaskForm):
    body = TextAreaField(
        _l("Internal note (moderators and council only)"),
        validators=[DataRequired(message=_l("Write the note first.")), Length(max=NOTE_MAX)],
    )


class RedactForm(FlaskForm):
    """Redact a span: `text` (copied exactly) without script; `start`/`end` when given."""

    field = HiddenField(
        _l("Field"),
        validators=[
            AnyOf(
                REDACTABLE_FIELDS, message=_l("Only the comment and the amendment can be redacted.")
            )
        ],
    )
    text = StringField(_l("Text to redact (copy it exactly)"), validators=[Length(max=10000)])
    start = IntegerField(validators=[Optional()])
    end = IntegerField(validators=[Optional()])
    reason = StringField(
        _l("Reason for the redaction"),
        validators=[
            DataRequired(message=_l("Give a reason for the redaction.")),
            Length(max=REASON_MAX),
        ],
    )

    def validate_text(self, field: StringField) -> None:
        if (self.start.data is None or self.end.data is None) and not (field.data or "").strip():
            raise ValidationError(_l("Copy the words to redact into the box."))


class RevertForm(FlaskForm):
    """Carries only the CSRF token of a revert button."""
