"""Uploading files to the organisation's feedback, deleting them, and serving them to readers."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.consultations import services as consultations
from app.downloads import send_attachment
from app.errors import Conflict, InvalidState
from app.extensions import limiter
from app.feedback import attachments
from app.feedback.attachment_forms import AttachmentForm, DeleteAttachmentForm
from app.models import Disclosure

bp = Blueprint("attachments", __name__)


@bp.post("/c/<slug>/items/<code>/feedback/attachments")
@limiter.limit("30/minute;300/hour")  # per client address; each upload writes up to 10 MB
@login_required
def upload(slug: str, code: str):  # noqa: ANN201
    view = consultations.get_item(slug, code)
    form = AttachmentForm()
    if form.validate_on_submit():
        chosen = form.attachment.data  # a werkzeug FileStorage, spooled by the server
        try:
            saved = attachments.add_attachment(
                current_user.id,
                view.item.id,
                chosen.stream,
                chosen.filename or "",
                Disclosure(form.disclosure.data),
            )
        except (InvalidState, Conflict) as error:
            flash(error.message, "error")
        else:
            flash(_("“%(name)s” is attached.", name=saved.filename), "success")
    else:
        for errors in form.errors.values():
            for message in errors:
                flash(message, "error")
    return _back_to_form(slug, code)


@bp.post("/attachments/<int:attachment_id>/delete")
@login_required
def delete(attachment_id: int):  # noqa: ANN201
    form = DeleteAttachmentForm()
    if not form.validate_on_submit():
        abort(400)
    item = attachments.item_of_own_attachment(current_user.id, attachment_id)
    try:
        attachments.remove_attachment(current_user.id, attachment_id)
    except InvalidState as error:
        flash(error.message, "error")
    else:
        flash(_("The file was removed."), "success")
    return _back_to_form(item.consultation.slug, item.code)


@bp.get("/attachments/<int:attachment_id>")
def download(attachment_id: int):  # noqa: ANN201
    return send_attachment(attachment_id)


def _back_to_form(slug: str, code: str):  # noqa: ANN202
    # To the top of the page, where the flashed outcome is shown (as other form errors are).
    return redirect(url_for("feedback.edit", slug=slug, code=code), 303)
