"""The structured feedback form."""

from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    HiddenField,
    RadioField,
    SelectMultipleField,
    SubmitField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from app.models import Attribution
from app.models.feedback import REGION_COUNTRIES
from app.vocabulary import disclosure_choices, population_labels, stance_choices


def country_choices() -> list[SelectChoice]:
    """The region's countries, named in the reader's language (from Babel's locale data)."""
    names = get_locale().territories
    return sorted(
        (SelectChoice(code, names.get(code, code)) for code in REGION_COUNTRIES),
        key=lambda choice: choice.label,
    )


class PriorityField(RadioField):
    """Five labelled radios; a value that is not a whole number gets the same message as one
    out of range (the service's), rather than WTForms' "could not coerce"."""

    def process_formdata(self, valuelist: list[str]) -> None:
        try:
            super().process_formdata(valuelist)
        except ValueError as error:
            raise ValueError(_l("Give a priority from 1 to 5.")) from error


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


# A bound on what the evidence box reads at all (its character count shows it).
LINKS_TEXT_LIMIT = 50_000


def parse_links(raw: str | None) -> list[str]:
    return [line.strip() for line in (raw or "").splitlines() if line.strip()]


class FeedbackForm(FlaskForm):
    stance = RadioField(
        _l("Your organisation's stance"), choices=stance_choices(), validators=[Optional()]
    )
    # Five labelled choices, not a number box; the service checks the value (feedback_input).
    priority = PriorityField(
        _l("Priority"),
        choices=[
            SelectChoice(1, _l("1 – low")),
            SelectChoice(2, _l("2 – fairly low")),
            SelectChoice(3, _l("3 – medium")),
            SelectChoice(4, _l("4 – high")),
            SelectChoice(5, _l("5 – highest")),
        ],
        coerce=int,
        validate_choice=False,
        validators=[Optional()],
    )
    affected_populations = MultiCheckboxField(
        _l("Affected populations"),
        choices=[SelectChoice(key, label) for key, label in population_labels().items()],
    )
    # Twenty countries: boxes to tick, which a phone or a keyboard works as well as a mouse.
    countries = MultiCheckboxField(_l("Countries concerned"))
    # The rules of what may be stored or submitted are the service's (feedback_input.py): the
    # form reads the fields, and the view shows the service's faults on them.
    comment = TextAreaField(_l("Comment"))
    comment_disclosure = RadioField(
        _l("Who may read the comment"), choices=disclosure_choices(), default="public"
    )
    amendment = TextAreaField(_l("Proposed amendment (replacement wording)"))
    amendment_disclosure = RadioField(
        _l("Who may read the amendment"), choices=disclosure_choices(), default="public"
    )
    evidence_links = TextAreaField(
        _l("Evidence links (one web address per line)"),
        validators=[Length(max=LINKS_TEXT_LIMIT)],
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


class WithdrawForm(FlaskForm):
    """The lead's withdrawal of a submitted position; `lock_version` guards against stale pages."""

    lock_version = HiddenField()
    withdraw = SubmitField(_l("Withdraw our position"))
