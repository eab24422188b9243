"""The feedback form of an item, its revisions, withdrawal, and the organisation's dashboard."""

from __future__ import annotations

import enum

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.consultations import services as consultations
from app.consultations.services import ItemView
from app.errors import Conflict, DomainError
from app.extensions import csrf, kept_after_commit, login_manager
from app.feedback import attachments, cosignatures, cosigning, positions, read_models
from app.feedback import services as feedback
from app.feedback.attachment_forms import AttachmentForm
from app.feedback.feedback_input import TEXT_LIMIT, FeedbackInput, input_faults, input_snapshot
from app.feedback.forms import LINKS_TEXT_LIMIT, FeedbackForm, WithdrawForm, parse_links
from app.form_errors import attach_domain_error
from app.models import Attribution, ConsultationState, Disclosure, Stance
from app.models.base import utcnow
from app.parsing import parse_id

bp = Blueprint("feedback", __name__)
# What a person sees side by side when a colleague saved first (everything they can type).
COMPARED_FIELDS = (*read_models.TEXT_FIELDS, *read_models.OTHER_FIELDS[1:-2])
UNSAVED = "unsaved"  # the answers stay on the page, not saved (see draft_before_attaching)


# The form checks its own CSRF token (Flask-WTF's FlaskForm), so an expired token re-renders the
# text that was typed with a message, instead of the global error page that would lose it.
@bp.route("/c/<slug>/items/<code>/feedback", methods=["GET", "POST"])
@csrf.exempt
def edit(slug: str, code: str):  # noqa: ANN201
    view = consultations.get_item(slug, code)
    form = FeedbackForm()
    if not current_user.is_authenticated:
        if not form.is_submitted():
            return login_manager.unauthorized()
        flash(
            _(
                "Your session has expired, so nothing was saved yet. Your text is still below:"
                " sign in again in another tab, then come back and press Save draft."
            ),
            "error",
        )
        return _render(view, form, None, expired=True), 401

    if not form.is_submitted():
        existing = _own_position(view)
        form.lock_version.data = str(existing.lock_version if existing else 0)
        if existing is not None:
            _fill(form, existing)
        return _render(view, form, existing, stored=True)

    # Who may save is checked before the form's fields are read. Who may submit is checked
    # when saving, so that a member who pressed Submit keeps the text typed.
    feedback.organisation_member(current_user.id)
    submitting = bool(form.submit.data)
    saved, failed = _save(view, form, submitting=submitting)
    if failed is not None:
        return failed
    return _after_save(saved, submitting, slug, code)


def _save(view: ItemView, form: FeedbackForm, *, submitting: bool):  # noqa: ANN202
    """Save (or submit) what the form holds: the saved Feedback and None, or None and the page
    to send back, which keeps the typed text (its errors, or a colleague's version beside it)."""
    if not form.validate():
        # One round of errors: what the form could not read, and every rule the rest breaks.
        _attach_input_faults(form, submitting)
        expired_token = _explain_expired_token(form)
        return None, (_render(view, form, _own_position(view)), 400 if expired_token else 422)
    # Saving reads and locks what it needs itself: the stored position is read again only to
    # show it beside an error.
    try:
        with kept_after_commit():  # the reference for the thank-you note, without a re-read
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
        theirs = _own_position(view)
        form.lock_version.data = str(theirs.lock_version if theirs else 0)
        differences = read_models.changes_between(
            input_snapshot(_input_from(form)), positions.snapshot(theirs) if theirs else {}
        )
        return None, (_render(view, form, theirs, theirs=theirs, differences=differences), 409)
    except DomainError as error:
        attach_domain_error(form, error)
        return None, (_render(view, form, _own_position(view)), error.status_code)
    return saved, None


def draft_before_attaching(view: ItemView, form: FeedbackForm):  # noqa: ANN201
    """Before a file is attached or removed from the page's form: keep the answers typed there.
    A draft is saved first (None when it was, else the form with its errors); a submitted
    position changes only by its lead's submit, so its text is not saved here ("unsaved") and
    the page is drawn again with it (`typed_page`)."""
    existing = _own_position(view)
    if existing is not None and existing.state in positions.SUBMITTED_STATES:
        return UNSAVED
    _saved, failed = _save(view, form, submitting=False)
    return failed


def typed_page(  # noqa: ANN201
    view: ItemView, form: FeedbackForm, lock_before: int | None, *, changed: bool
):
    """The form again with the answers typed and not yet submitted, after a file button. The
    page's lock moves on only past the file's own change (exactly one version on from the one
    the page held): a colleague's change meanwhile, or a file refused, leaves it where it was,
    so that submitting the page still meets the conflict check."""
    existing = _own_position(view)
    page_lock = _lock_version(form.lock_version.data)
    if (
        changed
        and existing is not None
        and lock_before is not None
        and lock_before == page_lock
        and existing.lock_version == lock_before + 1
    ):
        form.lock_version.data = str(existing.lock_version)
    return _render(view, form, existing)


def lock_of_position(view: ItemView) -> int | None:
    existing = _own_position(view)
    return existing.lock_version if existing else None


def _own_position(view: ItemView):  # noqa: ANN202 - a Feedback or None
    return positions.feedback_of_organization(current_user.organization_id, view.item.id)


@bp.post("/c/<slug>/items/<code>/feedback/draft")
@csrf.exempt  # checked by the form, so the script gets JSON rather than an HTML error page
def autosave(slug: str, code: str):  # noqa: ANN201
    """Save the draft in the background (the page's script calls this every few seconds)."""
    view = consultations.get_item(slug, code)
    if not current_user.is_authenticated:
        return _json_error(401, "unauthenticated", _("Your session has expired."), None)
    try:
        feedback.organisation_member(current_user.id)  # before the form's fields are read
    except DomainError as error:
        return _json_error(error.status_code, error.code, error.message, error.field)
    form = FeedbackForm()
    if not form.validate():
        if form.csrf_token.errors:
            message = _("This page has expired. Your text stays here: press Save draft to keep it.")
            return _json_error(400, "csrf_expired", message, "csrf_token")
        field, messages = next(iter(form.errors.items()))
        return _json_error(422, "invalid", str(messages[0]), field)
    try:
        saved = feedback.save_feedback(
            current_user.id,
            view.item.id,
            _input_from(form),
            submit=False,
            lock_version=_lock_version(form.lock_version.data),
        )
    except DomainError as error:
        return _json_error(error.status_code, error.code, error.message, error.field)
    return jsonify(lock_version=saved.lock_version, saved_at=saved.updated_at.isoformat())


@bp.post("/c/<slug>/items/<code>/feedback/withdraw")
@login_required
def withdraw(slug: str, code: str):  # noqa: ANN201
    view = consultations.get_item(slug, code)
    feedback.withdrawing_lead(current_user.id)  # before the form's fields are read
    form = WithdrawForm()
    if form.validate_on_submit():
        try:
            feedback.withdraw_feedback(
                current_user.id, view.item.id, _lock_version(form.lock_version.data)
            )
        except DomainError as error:
            flash(error.message, "error")
        else:
            flash(_("Your organisation's position was withdrawn."), "success")
    return redirect(url_for("feedback.edit", slug=slug, code=code))


@bp.get("/c/<slug>/items/<code>/feedback/revisions")
@login_required
def revisions(slug: str, code: str):  # noqa: ANN201
    view = consultations.get_item(slug, code)
    history = read_models.revision_history(current_user.id, view.item.id)
    return render_template(
        "feedback/revisions.html",
        history=history,
        item=view.item,
        version=view.version,
        consultation=view.item.consultation,
    )


@bp.get("/organisation/feedback")
@login_required
def dashboard():  # noqa: ANN201
    board = read_models.organization_dashboard(current_user.id, str(get_locale()))
    return render_template("feedback/dashboard.html", board=board, now=utcnow())


def _render(  # noqa: ANN202
    view: ItemView,
    form: FeedbackForm,
    existing,  # noqa: ANN001 - a Feedback row or None
    *,
    theirs=None,  # noqa: ANN001 - the colleague's Feedback after a conflict
    differences=None,  # noqa: ANN001 - list[Change] between this form and theirs
    expired: bool = False,
    stored: bool = False,
):
    consultation = view.item.consultation
    state = consultation.state_at(utcnow())
    return render_template(
        "feedback/edit.html",
        form=form,
        item=view.item,
        version=view.version,
        consultation=consultation,
        existing=existing,
        theirs=theirs,
        differences=[c for c in differences or [] if c.field in COMPARED_FIELDS],
        expired=expired,
        stored=stored,  # the form shows what the database holds, not a re-rendered POST
        state=state,
        text_limit=TEXT_LIMIT,
        links_limit=LINKS_TEXT_LIMIT,
        withdraw_form=WithdrawForm(lock_version=existing.lock_version if existing else 0),
        **({} if expired else _around_the_form(view, existing, state)),
    )


def _around_the_form(view: ItemView, existing, state: ConsultationState) -> dict:  # noqa: ANN001
    """Files, co-signers and co-signing notices shown next to a member's form."""
    if current_user.organization_id is None:
        return {}
    org_id, is_lead = current_user.organization_id, current_user.is_lead
    cosignable = existing is not None and existing.state in cosigning.COSIGNABLE_STATES
    return {
        "candidates": cosigning.candidate_organizations(org_id, view.item.id)
        if cosignable and is_lead
        else [],
        "attachments": attachments.attachments_of(existing.id) if existing else [],
        "can_edit": attachments.can_change_attachments(
            existing, view.item.consultation, is_lead=is_lead
        ),
        "attachment_form": AttachmentForm(formdata=None),
        "cosigned": cosigning.cosigned_feedback(org_id, view.item.id),
        "show_cosigners": cosignable,
        "cosigners": cosignatures.cosigners_of(existing.id) if cosignable else [],
        "is_lead": is_lead,
        "window_open": state is ConsultationState.OPEN,
    }


def _explain_expired_token(form: FeedbackForm) -> bool:
    """Replace the technical CSRF error with a message saying the text is kept."""
    if not form.csrf_token.errors:
        return False
    form.csrf_token.errors = []  # WTForms rebuilds form.errors from the fields' errors
    flash(
        _(
            "This page was open for a long time, so your changes were not saved yet."
            " Your text is below: press the button again to save it."
        ),
        "error",
    )
    return True


def _json_error(status: int, code: str, message: str, field: str | None):  # noqa: ANN202
    return jsonify(error={"code": code, "message": message, "field": field}), status


def _attach_input_faults(form: FeedbackForm, submitting: bool) -> None:
    """The service's faults of what the form could read, on fields that have no error yet."""
    for name, message in input_faults(_input_from(form), submitting=submitting).items():
        field = getattr(form, name)
        if not field.errors:
            field.errors = [message]


def _input_from(form: FeedbackForm) -> FeedbackInput:
    """What the form read; a choice it could not read (already an error on its field) counts
    as not given, so the service's faults of the other fields can be shown beside it."""
    return FeedbackInput(
        stance=_choice(Stance, form.stance, None),
        priority=form.priority.data,
        comment=form.comment.data or "",
        affected_populations=tuple(form.affected_populations.data or ()),
        countries=tuple(form.countries.data or ()),
        comment_disclosure=_choice(Disclosure, form.comment_disclosure, Disclosure.PUBLIC),
        amendment=form.amendment.data or "",
        amendment_disclosure=_choice(Disclosure, form.amendment_disclosure, Disclosure.PUBLIC),
        evidence_links=tuple(parse_links(form.evidence_links.data)),
        attribution=_choice(Attribution, form.attribution, Attribution.NAMED),
    )


def _choice(kind: type[enum.Enum], field, default):  # noqa: ANN001, ANN202
    try:
        return kind(field.data) if field.data else default
    except ValueError:
        return default


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
    if submitting and getattr(saved, "taken_off_public_page", False):
        flash(
            _(
                "Your changes were submitted with reference %(ref)s. They go back to the "
                "moderators: your published position is hidden from the public page until "
                "they have reviewed it.",
                ref=saved.reference,
            ),
            "warning",
        )
        return redirect(url_for("consultations.item", slug=slug, code=code))
    if submitting:
        flash(
            _(
                "Thank you. Your feedback was submitted with reference %(ref)s."
                " A receipt is on its way to your email address.",
                ref=saved.reference,
            ),
            "success",
        )
        return redirect(url_for("consultations.item", slug=slug, code=code))
    flash(_("Draft saved."), "success")
    return redirect(url_for("feedback.edit", slug=slug, code=code))
