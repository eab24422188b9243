"""Council pages: record and publish the council's response on an item."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import GovCharacterCount
from wtforms import RadioField, StringField, SubmitField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, Optional

from app.accounts.auth_forms import EmptyForm
from app.consultations import council_responses
from app.consultations import services as consultations
from app.consultations.council_responses import ResponseInput
from app.errors import DomainError
from app.extensions import db
from app.models import Decision
from app.reports.blueprint import bp
from app.vocabulary import decision_label

INVALID = 422


class ResponseForm(FlaskForm):
    decision = RadioField(_l("Decision"), validators=[InputRequired()])
    theme = StringField(_l("Theme (optional)"), validators=[Optional(), Length(max=200)])
    # Limited texts are counted as they are typed (GOV.UK's character count), never cut.
    rationale = TextAreaField(
        _l("Rationale"),
        validators=[InputRequired(), Length(max=10_000)],
        widget=GovCharacterCount(),
    )
    references = TextAreaField(
        _l("References of the submissions it answers (optional)"),
        validators=[Optional(), Length(max=20_000)],
        widget=GovCharacterCount(),
    )
    save_draft = SubmitField(_l("Save as a draft"))
    publish = SubmitField(_l("Publish and tell the organisations"))

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.decision.choices = [
            SelectChoice(decision.value, decision_label(decision.value)) for decision in Decision
        ]


@bp.route("/items/<int:item_id>/responses", methods=["GET", "POST"])
@login_required
def item_responses(item_id: int):  # noqa: ANN201
    form = ResponseForm()
    responses = council_responses.responses_for_item(current_user.id, item_id)
    if form.validate_on_submit():
        publish = bool(form.publish.data)
        data = ResponseInput(
            decision=Decision(form.decision.data),
            rationale=form.rationale.data or "",
            theme=form.theme.data or "",
            references=form.references.data or "",
        )
        try:
            council_responses.record_response(current_user.id, item_id, data, publish=publish)
        except DomainError as error:
            db.session.rollback()
            if error.field is None or error.field not in form:
                raise
            form[error.field].errors = [*form[error.field].errors, error.message]
        else:
            if publish:
                flash(_("Response published; the organisations concerned will be told."), "success")
            else:
                flash(_("Draft saved. It is not public until you publish it."), "success")
            return redirect(url_for("reports.item_responses", item_id=item_id))
    status = INVALID if form.is_submitted() else 200
    return render_template(
        "reports/responses.html",
        form=form,
        responses=responses,
        item=consultations.item_by_id(item_id),
    ), status


@bp.post("/responses/<int:response_id>/publish")
@login_required
def publish_response(response_id: int):  # noqa: ANN201
    form = EmptyForm()
    if not form.validate_on_submit():
        return redirect(url_for("reports.index"))
    council_responses.publish_response(current_user.id, response_id)
    flash(_("Response published; the organisations concerned will be told."), "success")
    item_id = council_responses.item_of(response_id)
    return redirect(url_for("reports.item_responses", item_id=item_id))
