"""My organisation's feedback: drafts, submission by the lead, withdrawal.

The same services as the feedback form (app.feedback.services): the same checks, states,
receipts and audit. Optimistic locking: each answer carries the feedback's version as its
`ETag`; a change sends it back as `If-Match`, and a stale one gets 412 with nothing saved.
Another organisation's feedback does not exist for the caller (404).
"""

from __future__ import annotations

from collections.abc import Callable

from flask import jsonify, url_for
from flask_babel import gettext as _
from flask_login import current_user
from marshmallow import Schema, fields, validate
from sqlalchemy import select

from app.api import idempotency
from app.api.errors import ApiBlueprint
from app.api.http import IF_MATCH, authenticate, checked_first, if_match, with_etag
from app.api.schemas import PageArgsSchema, page_of
from app.errors import NotFound
from app.extensions import db, kept_after_commit
from app.feedback import batch as draft_batch
from app.feedback import services as feedback
from app.feedback.feedback_input import (
    MAX_EVIDENCE_LINKS,
    MAX_LINK_LENGTH,
    PRIORITIES,
    TEXT_LIMIT,
    WEB_ADDRESS_PATTERN,
    FeedbackInput,
)
from app.models import (
    Attribution,
    Disclosure,
    Feedback,
    FeedbackState,
    Stance,
)
from app.models.feedback import AFFECTED_POPULATIONS, REGION_COUNTRIES

blp = ApiBlueprint(
    "api_feedback",
    __name__,
    description="Your organisation's feedback on each item: drafts, submission, withdrawal.",
)


class FeedbackInputSchema(Schema):
    stance = fields.String(
        load_default=None, allow_none=True, validate=validate.OneOf([s.value for s in Stance])
    )
    priority = fields.Integer(
        load_default=None,
        allow_none=True,
        validate=validate.Range(min=min(PRIORITIES), max=max(PRIORITIES)),
    )
    comment = fields.String(load_default="", validate=validate.Length(max=TEXT_LIMIT))
    affected_populations = fields.List(
        fields.String(validate=validate.OneOf(AFFECTED_POPULATIONS)), load_default=list
    )
    countries = fields.List(
        fields.String(validate=validate.OneOf(REGION_COUNTRIES)), load_default=list
    )
    comment_disclosure = fields.String(
        load_default=Disclosure.PUBLIC.value, validate=validate.OneOf([d.value for d in Disclosure])
    )
    amendment = fields.String(load_default="", validate=validate.Length(max=TEXT_LIMIT))
    amendment_disclosure = fields.String(
        load_default=Disclosure.PUBLIC.value, validate=validate.OneOf([d.value for d in Disclosure])
    )
    evidence_links = fields.List(
        # The service checks the address (one rule for the form and the API); the document
        # states it, so that clients and Schemathesis know it.
        fields.String(
            validate=validate.Length(max=MAX_LINK_LENGTH),
            metadata={"pattern": WEB_ADDRESS_PATTERN},
        ),
        load_default=list,
        validate=validate.Length(max=MAX_EVIDENCE_LINKS),
        metadata={"description": "http(s) addresses"},
    )
    attribution = fields.String(
        load_default=Attribution.NAMED.value,
        validate=validate.OneOf([a.value for a in Attribution]),
    )


class NewFeedbackSchema(FeedbackInputSchema):
    item_id = fields.Integer(
        required=True,
        validate=validate.Range(min=1, max=2**31 - 1),
        metadata={"description": "The item it answers"},
    )
    submit = fields.Boolean(
        load_default=False,
        metadata={
            "description": "The lead submits it at once as the organisation's position "
            "(one request instead of create then submit)"
        },
    )


class FeedbackSchema(Schema):
    id = fields.Integer(required=True)
    reference = fields.String(required=True)
    item_id = fields.Integer(required=True)
    item_code = fields.String(required=True)
    state = fields.String(required=True, metadata={"enum": [s.value for s in FeedbackState]})
    version = fields.Integer(required=True, metadata={"description": "Also the ETag"})
    stance = fields.String(allow_none=True, required=True)
    priority = fields.Integer(allow_none=True, required=True)
    comment = fields.String(required=True)
    affected_populations = fields.List(fields.String(), required=True)
    countries = fields.List(fields.String(), required=True)
    comment_disclosure = fields.String(required=True)
    amendment = fields.String(required=True)
    amendment_disclosure = fields.String(required=True)
    evidence_links = fields.List(fields.String(), required=True)
    attribution = fields.String(required=True)
    language = fields.String(allow_none=True, required=True)
    moderation_reason = fields.String(allow_none=True, required=True)
    created_at = fields.DateTime(required=True)
    updated_at = fields.DateTime(required=True)
    submitted_at = fields.DateTime(allow_none=True, required=True)
    url = fields.String(required=True)


class FeedbackPageSchema(Schema):
    data = fields.List(fields.Nested(FeedbackSchema), required=True)
    next = fields.String(allow_none=True, required=True)


def member():  # noqa: ANN202 - the calling User
    if not current_user.is_authenticated:
        authenticate()
    return feedback.organisation_member(current_user.id)


def own_feedback(feedback_id: int) -> Feedback:
    """The caller's organisation's feedback, or 404 (another's is not said to exist)."""
    user = member()
    found = db.session.get(Feedback, feedback_id)
    if found is None or found.organization_id != user.organization_id:
        raise NotFound(_("No such feedback."))
    return found


def led_feedback(feedback_id: int, lead: Callable[[int], object]) -> Feedback:
    """The caller's organisation's feedback, when the caller passes `lead` (a lead's check)."""
    found = own_feedback(feedback_id)
    lead(current_user.id)
    return found


def to_submit(feedback_id: int) -> Feedback:
    return led_feedback(feedback_id, feedback.submitting_lead)


def to_withdraw(feedback_id: int) -> Feedback:
    return led_feedback(feedback_id, feedback.withdrawing_lead)


def _input(data: dict) -> FeedbackInput:
    return FeedbackInput(
        stance=Stance(data["stance"]) if data["stance"] else None,
        priority=data["priority"],
        comment=data["comment"],
        affected_populations=tuple(data["affected_populations"]),
        countries=tuple(data["countries"]),
        comment_disclosure=Disclosure(data["comment_disclosure"]),
        amendment=data["amendment"],
        amendment_disclosure=Disclosure(data["amendment_disclosure"]),
        evidence_links=tuple(data["evidence_links"]),
        attribution=Attribution(data["attribution"]),
    )


def _as_input(found: Feedback) -> FeedbackInput:
    return FeedbackInput(
        stance=found.stance,
        priority=found.priority,
        comment=found.comment or "",
        affected_populations=tuple(found.affected_populations or ()),
        countries=tuple(found.countries or ()),
        comment_disclosure=found.comment_disclosure,
        amendment=found.amendment or "",
        amendment_disclosure=found.amendment_disclosure,
        evidence_links=tuple(found.evidence_links or ()),
        attribution=found.attribution,
    )


def _fields_of(content: FeedbackInput) -> dict:
    """A FeedbackInput as the API's fields (the inverse of `_input`)."""
    return {
        "stance": content.stance.value if content.stance else None,
        "priority": content.priority,
        "comment": content.comment,
        "affected_populations": list(content.affected_populations),
        "countries": list(content.countries),
        "comment_disclosure": content.comment_disclosure.value,
        "amendment": content.amendment,
        "amendment_disclosure": content.amendment_disclosure.value,
        "evidence_links": list(content.evidence_links),
        "attribution": content.attribution.value,
    }


def _body(found: Feedback) -> dict:
    return {
        "id": found.id,
        "reference": found.reference,
        "item_id": found.item_id,
        "item_code": found.item.code,
        "state": found.state.value,
        "version": found.lock_version,
        "stance": found.stance.value if found.stance else None,
        "priority": found.priority,
        "comment": found.comment or "",
        "affected_populations": list(found.affected_populations or ()),
        "countries": list(found.countries or ()),
        "comment_disclosure": found.comment_disclosure.value,
        "amendment": found.amendment or "",
        "amendment_disclosure": found.amendment_disclosure.value,
        "evidence_links": list(found.evidence_links or ()),
        "attribution": found.attribution.value,
        "language": found.language,
        "moderation_reason": found.moderation_reason,
        "created_at": found.created_at,
        "updated_at": found.updated_at,
        "submitted_at": found.submitted_at,
        "url": url_for("api_feedback.one", feedback_id=found.id),
    }


@blp.get("")
@checked_first(member)
@blp.arguments(PageArgsSchema, location="query")
@blp.response(200, FeedbackPageSchema)
@blp.errors(403, 422, 429)
def listing(args: dict):  # noqa: ANN201
    """My organisation's feedback on every item, oldest first, a page at a time."""
    user = member()
    query = (
        select(Feedback)
        .where(Feedback.organization_id == user.organization_id)
        .order_by(Feedback.id)
    )
    if args.get("after"):
        query = query.where(Feedback.id > args["after"])
    rows = list(db.session.scalars(query.limit(args["limit"] + 1)))
    return page_of(rows, args["limit"], _body, "api_feedback.listing")


@blp.post("")
@checked_first(member)
@blp.arguments(NewFeedbackSchema)
@blp.response(201, FeedbackSchema, headers={"ETag": {"schema": {"type": "string"}}})
@blp.errors(403, 404, 409, 422, 429)
def create(data: dict):  # noqa: ANN201
    """Start my organisation's draft on an item (one per item: 409 when it has one); with
    `submit`, the lead submits it in the same request."""
    user = member()
    with kept_after_commit():  # every value of the new row is known: none is read back
        found = feedback.save_feedback(
            user.id,
            data["item_id"],
            _input(data),
            submit=data["submit"],
            lock_version=0,
            creating=True,
        )
    location = url_for("api_feedback.one", feedback_id=found.id)
    return with_etag(_body(found), found, 201, location=location)


@blp.get("/<id:feedback_id>")
@blp.response(200, FeedbackSchema, headers={"ETag": {"schema": {"type": "string"}}})
@blp.errors(403, 404, 429)
def one(feedback_id: int):  # noqa: ANN201
    found = own_feedback(feedback_id)
    return with_etag(_body(found), found)


@blp.put("/<id:feedback_id>")
@checked_first(own_feedback)
@blp.arguments(FeedbackInputSchema(partial=True))
@blp.response(200, FeedbackSchema, headers={"ETag": {"schema": {"type": "string"}}})
@blp.errors(403, 404, 409, 412, 422, 428, 429)
@blp.doc(parameters=[IF_MATCH])
def update(data: dict, feedback_id: int):  # noqa: ANN201
    """Change the draft: the fields sent replace the draft's, those left out keep their
    values (a council-only text stays council-only). `If-Match`: the ETag you last saw."""
    found = own_feedback(feedback_id)
    version = if_match(found)
    content = _input({**_fields_of(_as_input(found)), **data})
    saved = feedback.save_feedback(
        current_user.id, found.item_id, content, submit=False, lock_version=version
    )
    return with_etag(_body(saved), saved)


class SubmitSchema(FeedbackInputSchema):
    """The same fields, loaded partially: those sent replace the current ones."""


@blp.post("/<id:feedback_id>/submit")
@checked_first(to_submit)
@blp.arguments(SubmitSchema(partial=True), required=False)
@blp.response(200, FeedbackSchema, headers={"ETag": {"schema": {"type": "string"}}})
@blp.errors(403, 404, 409, 412, 422, 428)
@blp.doc(parameters=[IF_MATCH])
def submit(changes: dict | None, feedback_id: int):  # noqa: ANN201
    """The lead signs off the organisation's official position: the draft as it is, or with
    the fields sent replacing its own (how a submitted position is changed: a new revision,
    back to the moderators)."""
    found = to_submit(feedback_id)
    version = if_match(found)
    content = _as_input(found)
    if changes:
        content = _input({**_fields_of(content), **changes})
    saved = feedback.save_feedback(
        current_user.id, found.item_id, content, submit=True, lock_version=version
    )
    return with_etag(_body(saved), saved)


@blp.post("/<id:feedback_id>/withdraw")
@blp.response(200, FeedbackSchema, headers={"ETag": {"schema": {"type": "string"}}})
@blp.errors(403, 404, 409, 412, 428, 429)
@blp.doc(parameters=[IF_MATCH])
def withdraw(feedback_id: int):  # noqa: ANN201
    """The lead takes the organisation's position back (it becomes a draft)."""
    found = to_withdraw(feedback_id)
    version = if_match(found)
    saved = feedback.withdraw_feedback(current_user.id, found.item_id, version)
    return with_etag(_body(saved), saved)


class BatchSchema(Schema):
    drafts = fields.List(
        fields.Nested(NewFeedbackSchema),
        required=True,
        validate=validate.Length(min=1, max=draft_batch.MAX_BATCH),
        metadata={"description": f"1 to {draft_batch.MAX_BATCH} drafts, one item each"},
    )


class BatchResultSchema(Schema):
    data = fields.List(fields.Nested(FeedbackSchema), required=True)


@blp.post("/batch")
@checked_first(member)
@blp.arguments(BatchSchema)
@blp.response(201, BatchResultSchema)
@blp.errors(403, 409, 422)
@blp.doc(parameters=[idempotency.DOC_PARAMETER])
@idempotency.idempotent
def batch(data: dict):  # noqa: ANN201
    """Start up to 500 drafts in one request: all are checked, then all saved, or none (422
    lists every draft at fault with its field). The lead may submit any of them at once
    (`submit` on the draft): those meet the submission rules and get receipts and flags.
    With an `Idempotency-Key`, a retry answers what the first request did, without saving
    anything twice."""
    user = member()
    drafts = [(row["item_id"], _input(row)) for row in data["drafts"]]
    answer: dict = {}

    def remember(created: list[Feedback]) -> None:
        answer["body"] = BatchResultSchema().dump({"data": [_body(draft) for draft in created]})
        idempotency.remember(201, answer["body"])

    submit = frozenset(i for i, row in enumerate(data["drafts"]) if row["submit"])
    draft_batch.save_drafts(user.id, drafts, submit=submit, before_commit=remember)
    response = jsonify(answer["body"])
    response.status_code = 201
    return response
