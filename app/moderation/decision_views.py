"""One submission under review: its detail page, decisions, internal notes and redactions."""

from __future__ import annotations

import functools
from collections.abc import Callable

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.accounts.permissions import MODERATORS, acting_user
from app.analysis.redaction import apply_redactions
from app.errors import InvalidInput, InvalidState
from app.models import Disclosure
from app.moderation import redactions, review_page
from app.moderation import services as moderation
from app.moderation.blueprint import bp
from app.moderation.forms import (
    DecisionForm,
    NoteForm,
    RedactForm,
    RejectForm,
    RejectWithReasonForm,
    RequestChangesForm,
    RevertForm,
)
from app.moderation.redactions import REDACTABLE_FIELDS

INVALID = 422


def moderators_only(view: Callable) -> Callable:
    """The staff area admits the council too (it reads submissions); a decision, note or
    redaction is a moderator's. Checked before the form is read, so the council gets 403 and
    never a 422 about fields it had no right to send."""

    @functools.wraps(view)
    def checked(**url_values: object):  # noqa: ANN202
        acting_user(current_user.id, *MODERATORS)
        return view(**url_values)

    return checked


@bp.get("/feedback/<int:feedback_id>")
@login_required
def show(feedback_id: int):  # noqa: ANN201
    return _page(feedback_id)


@bp.post("/<int:feedback_id>/publish")
@login_required
@moderators_only
def publish(feedback_id: int):  # noqa: ANN201
    form = DecisionForm()
    if not form.validate_on_submit():
        flash(_("The form expired or lost the version you read. Review it again."), "error")
        return _page(feedback_id, status=400)
    moderation.publish_feedback(
        current_user.id, feedback_id, form.lock_version.data, flags_seen=form.flags_seen.data
    )
    flash(_("Published."), "success")
    return redirect(url_for("moderation.queue"))


@bp.post("/<int:feedback_id>/reject")
@login_required
@moderators_only
def reject(feedback_id: int):  # noqa: ANN201
    """The queue's quick reject with a free-text reason (kept as "other" with that note)."""
    form = RejectForm()
    if not form.validate_on_submit():
        flash(_("Give a reason to reject a submission."), "error")
        return _page(feedback_id, status=INVALID)
    moderation.reject_feedback(
        current_user.id, feedback_id, form.lock_version.data, form.reason.data
    )
    flash(_("Rejected; the organisation will see your reason."), "success")
    return redirect(url_for("moderation.queue"))


@bp.post("/feedback/<int:feedback_id>/reject")
@login_required
@moderators_only
def reject_with_reason(feedback_id: int):  # noqa: ANN201
    form = RejectWithReasonForm()
    if not form.validate_on_submit():
        return _page(feedback_id, reject_form=form, status=INVALID)
    moderation.reject_feedback(
        current_user.id,
        feedback_id,
        form.lock_version.data,
        form.note.data or "",
        code=form.code.data,
    )
    flash(_("Rejected; the organisation will see your reason."), "success")
    return redirect(url_for("moderation.queue"))


@bp.post("/feedback/<int:feedback_id>/request-changes")
@login_required
@moderators_only
def request_changes(feedback_id: int):  # noqa: ANN201
    form = RequestChangesForm()
    if not form.validate_on_submit():
        return _page(feedback_id, changes_form=form, status=INVALID)
    moderation.request_changes(
        current_user.id, feedback_id, form.lock_version.data, form.message.data
    )
    flash(_("Changes requested; the organisation can edit its draft again."), "success")
    return redirect(url_for("moderation.queue"))


@bp.post("/feedback/<int:feedback_id>/notes")
@login_required
@moderators_only
def add_note(feedback_id: int):  # noqa: ANN201
    form = NoteForm()
    if not form.validate_on_submit():
        return _page(feedback_id, note_form=form, status=INVALID)
    moderation.add_note(current_user.id, feedback_id, form.body.data)
    flash(_("Note added."), "success")
    return redirect(url_for("moderation.show", feedback_id=feedback_id, _anchor="notes"))


@bp.post("/feedback/<int:feedback_id>/redactions")
@login_required
@moderators_only
def redact(feedback_id: int):  # noqa: ANN201
    form = RedactForm()
    if not form.validate_on_submit():
        return _page(feedback_id, redact_form=form, status=INVALID)
    try:
        if form.start.data is not None and form.end.data is not None:
            redactions.redact(
                current_user.id,
                feedback_id,
                form.field.data,
                form.start.data,
                form.end.data,
                form.reason.data,
            )
        else:
            redactions.redact_text(
                current_user.id, feedback_id, form.field.data, form.text.data, form.reason.data
            )
    except (InvalidInput, InvalidState) as error:
        form.form_errors.append(error.message)
        return _page(feedback_id, redact_form=form, status=INVALID)
    flash(_("Redacted: the public now reads [redacted] instead."), "success")
    return redirect(url_for("moderation.show", feedback_id=feedback_id, _anchor="redactions"))


@bp.post("/redactions/<int:redaction_id>/revert")
@login_required
@moderators_only
def revert_redaction(redaction_id: int):  # noqa: ANN201
    form = RevertForm()
    if not form.validate_on_submit():
        abort(400)
    redaction = redactions.revert(current_user.id, redaction_id)
    flash(_("Redaction reverted: the public reads these words again."), "success")
    return redirect(
        url_for("moderation.show", feedback_id=redaction.feedback_id, _anchor="redactions")
    )


def _page(  # noqa: ANN202
    feedback_id: int,
    *,
    reject_form: RejectWithReasonForm | None = None,
    changes_form: RequestChangesForm | None = None,
    note_form: NoteForm | None = None,
    redact_form: RedactForm | None = None,
    status: int = 200,
):
    review = moderation.review(current_user.id, feedback_id)
    feedback = review.feedback
    entries = redactions.redactions_of(current_user.id, feedback_id)
    texts = {}
    for field in REDACTABLE_FIELDS:
        spans = [(r.start, r.end) for r in entries if r.active and r.field == field]
        text = getattr(feedback, field) or ""
        public = getattr(feedback, f"{field}_disclosure") is Disclosure.PUBLIC
        texts[field] = {
            "public": public,
            "text": text,
            # Council and admin read the hidden words, marked; moderators what the public reads.
            "pieces": redactions.highlighted(text, spans) if review.sees_original else None,
            "shown": apply_redactions(text, spans) if public else text,
        }
    return (
        render_template(
            "moderation/feedback.html",
            review=review,
            feedback=feedback,
            texts=texts,
            redactions=entries,
            redacted_words=review_page.redacted_words(feedback, entries),
            revisions=review_page.revisions(current_user.id, feedback_id),
            note_max=moderation.NOTE_MAX,
            reason_max=redactions.REASON_MAX,
            publish_form=DecisionForm(formdata=None),
            reject_form=reject_form or RejectWithReasonForm(formdata=None),
            changes_form=changes_form or RequestChangesForm(formdata=None),
            note_form=note_form or NoteForm(formdata=None),
            redact_form=redact_form,
            revert_form=RevertForm(formdata=None),
        ),
        status,
    )
