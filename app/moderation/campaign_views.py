"""Campaigns: near-duplicate groups of submissions and bulk decisions on them."""

from __future__ import annotations

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import IntegerField, RadioField, SelectField, TextAreaField
from wtforms.validators import Length, Optional

from app import staff
from app.accounts.permissions import MODERATORS
from app.errors import DomainError, NotFound
from app.moderation import campaign_groups, campaigns
from app.parsing import parse_id

bp = Blueprint("moderation_campaigns", __name__, url_prefix="/moderation/campaigns")
bp.before_request(staff.only(*MODERATORS))


class BulkForm(FlaskForm):
    kind = RadioField(_l("Decision"), choices=[])
    representative_id = IntegerField(_l("Representative"), validators=[Optional()])
    reason_code = SelectField(_l("Reason"), choices=[], validate_choice=False)
    note = TextAreaField(_l("Note to the organisations"), validators=[Length(max=2000)])

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.kind.choices = list(campaigns.KINDS.items())
        self.reason_code.choices = [("", _("Choose a reason")), *campaigns.REASON_CODES.items()]


@bp.get("/")
@login_required
def index():  # noqa: ANN201
    groups = campaign_groups.campaign_groups(current_user.id, limit=100)
    return render_template("moderation/campaigns.html", groups=groups)


@bp.get("/<key>")
@login_required
def show(key: str):  # noqa: ANN201
    after = None
    if request.args.get("after"):
        after = parse_id(request.args["after"])
        if after is None:
            abort(400)
    try:
        detail = campaign_groups.campaign_detail(current_user.id, key, after=after)
    except NotFound:
        merged_into = campaign_groups.merged_into(key)
        if merged_into is None:
            raise
        return redirect(url_for(".show", key=merged_into))  # merged: its members are there
    form = BulkForm(representative_id=detail.representative_id)
    return render_template(
        "moderation/campaign.html",
        detail=detail,
        form=form,
        reasons=campaigns.REASON_CODES,
    )


@bp.post("/<key>/bulk")
@login_required
def bulk(key: str):  # noqa: ANN201
    form = BulkForm()
    if not form.validate_on_submit():
        flash(_("Check the decision and try again."), "error")
        return redirect(url_for("moderation_campaigns.show", key=key))
    try:
        action = campaigns.request_bulk(
            current_user.id,
            key,
            form.kind.data or "",
            reason_code=form.reason_code.data or None,
            note=form.note.data or "",
            representative_id=form.representative_id.data,
        )
    except DomainError as error:
        if error.status_code == 403:
            raise
        flash(error.message, "error")
        return redirect(url_for("moderation_campaigns.show", key=key))
    return redirect(url_for("moderation_campaigns.action", action_id=action.id))


@bp.get("/actions/<int:action_id>")
@login_required
def action(action_id: int):  # noqa: ANN201
    return render_template(
        "moderation/campaign_action.html",
        action=campaigns.get_bulk_action(current_user.id, action_id),
        status=campaigns.bulk_status(current_user.id, action_id),
        kinds=campaigns.KINDS,
    )


@bp.get("/actions/<int:action_id>/status")
@login_required
def action_status(action_id: int):  # noqa: ANN201
    return jsonify(campaigns.bulk_status(current_user.id, action_id))
