"""The structured feedback form."""

from urllib.parse import urlsplit

from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    HiddenField,
    IntegerField,
    RadioField,
    SelectMultipleField,
    SubmitField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, NumberRange, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from app.models import Attribution, Stance
from app.models.feedback import REGION_COUNTRIES
from app.vocabulary import disclosure_choices, population_labels, stance_choices

MAX_EVIDENCE_LINKS = 10


def country_choices() -> list[SelectChoice]:
    """The region's countries, named in the reader's language (from Babel's locale data)."""
    names = get_locale().territories
    return sorted(
        (SelectChoice(code, names.get(code, code)) for code in REGION_COUNTRIES),
        key=lambda choice: choice.label,
    )


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class EvidenceLinks:
    """One http(s) address per line, at most MAX_EVIDENCE_LINKS."""

    def __call__(self, form: FlaskForm, field: TextAreaField) -> None:
        links = parse_links(field.data)
        if len(links) > MAX_EVIDENCE_LINKS:
            raise ValidationError(_l("Give at most %(n)s links.", n=MAX_EVIDENCE_LINKS))
        for link in links:
            parts = urlsplit(link)
            if parts.scheme not in ("http", "https") or not parts.netloc or " " in link:
                raise ValidationError(_l("This is not a web address: %(link)s", link=link))


def parse_links(raw: str | None) -> list[str]:
    return [line.strip() for line in (raw or "").splitlines() if line.strip()]


class FeedbackForm(FlaskForm):
    stance = RadioField(
        _l("Your organisation's stance"), choices=stance_choices(), validators=[Optional()]
    )
    priority = IntegerField(
        _l("Priority (1 = low, 5 = highest)"),
        validators=[Optional(), NumberRange(min=1, max=5)],
    )
    affected_populations = MultiCheckboxField(
        _l("Affected populations"),
        choices=[SelectChoice(key, label) for key, label in population_labels().items()],
    )
    countries = SelectMultipleField(_l("Countries concerned"))
    comment = TextAreaField(_l("Comment"), validators=[Length(max=20000)])
    comment_disclosure = RadioField(
        _l("Who may read the comment"), choices=disclosure_choices(), default="public"
    )
    amendment = TextAreaField(
        _l("Proposed amendment (replacement wording)"), validators=[Length(max=20000)]
    )
    amendment_disclosure = RadioField(
        _l("Who may read the amendment"), choices=disclosure_choices(), default="public"
    )
    evidence_links = TextAreaField(
        _l("Evidence links (one web address per line)"),
        validators=[Length(max=5000), EvidenceLinks()],
    )
    attribution = RadioField(
        _l("Show your organisation's name with the published feedback?"),
        choices=[
            SelectChoice(Attribution.NAMED.value, _l("Yes, name our organisation")),
            SelectChoice(Attribution.ANONYMOUS.value, _l("No, publish it anonymously")),
        ],
        default="named",
    )
    lock_version = HiddenField()
    save = SubmitField(_l("Save draft"))
    submit = SubmitField(_l("Submit feedback"))

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.countries.choices = country_choices()

    def validate_for_submission(self) -> bool:
        """Submitting needs a stance and a priority, and an amendment when the stance asks one."""
        ok = True
        if not self.stance.data:
            self.stance.errors = [*self.stance.errors, _l("Choose a stance.")]
            ok = False
        if self.priority.data is None:
            self.priority.errors = [*self.priority.errors, _l("Give a priority from 1 to 5.")]
            ok = False
        amendment_needed = self.stance.data == Stance.SUPPORT_WITH_AMENDMENTS.value
        if amendment_needed and not (self.amendment.data or "").strip():
            self.amendment.errors = [
                *self.amendment.errors,
                _l("Give the wording you propose when you support with amendments."),
            ]
            ok = False
        return ok


class WithdrawForm(FlaskForm):
    """The lead's withdrawal of a submitted position; `lock_version` guards against stale pages."""

    lock_version = HiddenField()
    withdraw = SubmitField(_l("Withdraw our position"))
