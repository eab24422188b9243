"""The feedback form of an item, for members of an organisation."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.feedback.forms import FeedbackForm, parse_links
from app.form_errors import attach_domain_error
from app.models import Attribution, Disclosure, Stance
from app.models.base import utcnow
from app.parsing import parse_id
from app.services import consultations, feedback
from app.services.errors import Conflict, Forbidden, InvalidState

bp = Blueprint("feedback", __name__)


@bp.route("/c/<slug>/items/<code>/feedback", methods=["GET", "POST"])
@login_required
def edit(slug: str, code: str):  # noqa: ANN201
    view = consultations.get_item(slug, code)
    existing = feedback.feedback_of_organization(current_user.organization_id, view.item.id)
    form = FeedbackForm()
    if not form.is_submitted():
        form.lock_version.data = str(existing.lock_version if existing else 0)
        if existing is not None:
            _fill(form, existing)

    status, theirs = 200, None
    if form.validate_on_submit():
        submitting = bool(form.submit.data)
        if not submitting or form.validate_for_submission():
            try:
                saved = feedback.save_feedback(
                    current_user.id,
                    view.item.id,
                    _input_from(form),
                    submit=submitting,
                    lock_version=_lock_version(form.lock_version.data),
                )
            except Conflict as error:
                # Keep what this person typed and show what the colleague saved beside it.
                flash(error.message, "error")
                status = 409
                theirs = feedback.feedback_of_organization(
                    current_user.organization_id, view.item.id
                )
                form.lock_version.data = str(theirs.lock_version if theirs else 0)
            except (InvalidState, Forbidden) as error:
                attach_domain_error(form, error)
                status = error.status_code
            else:
                return _after_save(saved, submitting, slug, code)
    if form.errors:
        status = 422

    return render_template(
        "feedback/edit.html",
        form=form,
        item=view.item,
        version=view.version,
        consultation=view.item.consultation,
        existing=existing,
        theirs=theirs,
        state=view.item.consultation.state_at(utcnow()),
    ), status


def _input_from(form: FeedbackForm) -> feedback.FeedbackInput:
    return feedback.FeedbackInput(
        stance=Stance(form.stance.data) if form.stance.data else None,
        priority=form.priority.data,
        comment=form.comment.data or "",
        affected_populations=tuple(form.affected_populations.data or ()),
        countries=tuple(form.countries.data or ()),
        comment_disclosure=Disclosure(form.comment_disclosure.data or "public"),
        amendment=form.amendment.data or "",
        amendment_disclosure=Disclosure(form.amendment_disclosure.data or "public"),
        evidence_links=tuple(parse_links(form.evidence_links.data)),
        attribution=Attribution(form.attribution.data or "named"),
    )


def _fill(form: FeedbackForm, existing) -> None:  # noqa: ANN001 - a Feedback row
    form.stance.data = existing.stance.value if existing.stance else None
    form.priority.data = existing.priority
    form.comment.data = existing.comment
    form.comment_disclosure.data = existing.comment_disclosure.value
    form.amendment.data = existing.amendment
    form.amendment_disclosure.data = existing.amendment_disclosure.value
    form.affected_populations.data = list(existing.affected_populations or [])
    form.countries.data = list(existing.countries or [])
    form.evidence_links.data = "\n".join(existing.evidence_links or [])
    form.attribution.data = existing.attribution.value


def _lock_version(raw: str | None) -> int:
    version = parse_id(raw)
    if version is None:
        abort(400)
    return version


def _after_save(saved, submitting: bool, slug: str, code: str):  # noqa: ANN001, ANN202
    if submitting:
        flash(
            _(
                "Thank you. Your feedback was submitted with reference %(ref)s.",
                ref=saved.reference,
            ),
            "success",
        )
        return redirect(url_for("consultations.item", slug=slug, code=code))
    flash(_("Draft saved."), "success")
    return redirect(url_for("feedback.edit", slug=slug, code=code))
