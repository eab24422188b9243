"""Uploading files to the organisation's feedback, deleting them, and serving them to readers."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.consultations import services as consultations
from app.consultations.services import ItemView
from app.downloads import send_attachment
from app.errors import Conflict, InvalidInput, InvalidState
from app.extensions import limiter
from app.feedback import attachments
from app.feedback import services as feedback
from app.feedback import views as feedback_views
from app.feedback.attachment_forms import AttachmentForm, DeleteAttachmentForm
from app.feedback.forms import FeedbackForm
from app.models import Disclosure

bp = Blueprint("attachments", __name__)
ANSWERS = "with_answers"  # sent by the feedback page's form when its answers may be changed


@bp.post("/c/<slug>/items/<code>/feedback/attachments")
@limiter.limit("30/minute;300/hour")  # per client address; each upload writes up to 10 MB
@login_required
def upload(slug: str, code: str):  # noqa: ANN201
    """Attach a file. From the feedback page, the upload button sends the whole form: what was
    typed there is saved as the draft first (or, on a submitted position, shown again unsaved),
    so attaching a file never costs the answers."""
    view = consultations.get_item(slug, code)
    feedback.organisation_member(current_user.id)  # before the form's fields are read
    form = AttachmentForm()
    answers, unsaved_lock, failed = _keep_answers(view)
    if failed is not None:
        return failed  # the form with its errors and the text typed; no file attached
    changed = False
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
        except (InvalidInput, InvalidState, Conflict) as error:
            flash(error.message, "error")
        else:
            changed = True
            flash(_("“%(name)s” is attached.", name=saved.filename), "success")
    else:
        for errors in form.errors.values():
            for message in errors:
                flash(message, "error")
    if unsaved_lock is not None:
        return feedback_views.typed_page(view, answers, unsaved_lock, changed=changed)
    return _back_to_form(slug, code)


@bp.post("/attachments/<int:attachment_id>/delete")
@login_required
def delete(attachment_id: int):  # noqa: ANN201
    form = DeleteAttachmentForm()
    if not form.validate_on_submit():
        abort(400)
    item = attachments.item_of_own_attachment(current_user.id, attachment_id)
    view = consultations.get_item(item.consultation.slug, item.code)
    answers, unsaved_lock, failed = _keep_answers(view)
    if failed is not None:
        return failed
    changed = False
    try:
        attachments.remove_attachment(current_user.id, attachment_id)
    except InvalidState as error:
        flash(error.message, "error")
    else:
        changed = True
        flash(_("The file was removed."), "success")
    if unsaved_lock is not None:
        return feedback_views.typed_page(view, answers, unsaved_lock, changed=changed)
    return _back_to_form(item.consultation.slug, item.code)


@bp.get("/attachments/<int:attachment_id>")
def download(attachment_id: int):  # noqa: ANN201
    return send_attachment(attachment_id)


def _keep_answers(view: ItemView):  # noqa: ANN202
    """The answers the feedback page's form sent with a file button, kept before the file
    changes: (form, lock of a submitted position whose text stays unsaved, page to send back
    instead). Nothing to keep when the page's answers could not be changed."""
    if not request.form.get(ANSWERS):
        return None, None, None
    answers = FeedbackForm()
    kept = feedback_views.draft_before_attaching(view, answers)
    if kept is feedback_views.UNSAVED:
        return answers, feedback_views.lock_of_position(view), None
    return answers, None, kept


def _back_to_form(slug: str, code: str):  # noqa: ANN202
    # To the top of the page, where the flashed outcome is shown (as other form errors are).
    return redirect(url_for("feedback.edit", slug=slug, code=code), 303)
