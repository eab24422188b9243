"""The upload form of a feedback attachment, and the CSRF-only form of its delete button."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import RadioField
from wtforms.validators import InputRequired

from app.vocabulary import disclosure_choices


class AttachmentForm(FlaskForm):
    # The type and size are checked from the content by the service, not from the name here.
    attachment = FileField(
        _l("File to attach"), validators=[FileRequired(message=_l("Choose a file to attach."))]
    )
    disclosure = RadioField(
        _l("Who may read this file"),
        choices=disclosure_choices(),
        default="public",
        validators=[InputRequired(message=_l("Choose who may read this file."))],
    )


class DeleteAttachmentForm(FlaskForm):
    """Carries only the CSRF token of a delete button."""
