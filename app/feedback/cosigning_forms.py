"""Forms of co-signing."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired


class InviteCosignerForm(FlaskForm):
    # Rendered by hand in feedback/_cosigners.html as a select of candidate organisations;
    # the service, not the form, decides whether the chosen one may be invited.
    organization_id = StringField(_l("Organisation to invite"), validators=[DataRequired()])
