"""The council's responses through the API ("we asked, you said, we did"): the council and
admins record them on an item (drafts or published at once, which tells the organisations
concerned), list them with their drafts, and publish a draft. Everyone reads the published
ones under the item (app.api.consultations)."""

from __future__ import annotations

from flask import url_for
from marshmallow import Schema, fields, validate

from app.api.errors import ApiBlueprint
from app.api.http import checked_first, signed_in, signed_in_as
from app.consultations import council_responses
from app.errors import DomainError
from app.models import Decision

blp = ApiBlueprint(
    "api_responses",
    __name__,
    description="The council's responses on items: record, list with drafts, publish.",
)


class ResponseInputSchema(Schema):
    decision = fields.String(required=True, validate=validate.OneOf([d.value for d in Decision]))
    rationale = fields.String(required=True, validate=validate.Length(min=1, max=20_000))
    theme = fields.String(load_default="", validate=validate.Length(max=200))
    answers = fields.List(
        fields.String(validate=validate.Length(min=1, max=40)),
        load_default=list,
        validate=validate.Length(max=council_responses.MAX_REFERENCES),
        metadata={"description": "References of the submissions it answers"},
    )
    publish = fields.Boolean(
        load_default=False,
        metadata={"description": "Publish now (the organisations concerned are told)"},
    )


class RecordedResponseSchema(Schema):
    id = fields.Integer(required=True)
    decision = fields.String(required=True)
    theme = fields.String(allow_none=True, required=True)
    rationale = fields.String(required=True)
    created_at = fields.DateTime(required=True)
    published_at = fields.DateTime(allow_none=True, required=True)
    notified_at = fields.DateTime(allow_none=True, required=True)
    answers = fields.List(fields.String(), required=True)
    url = fields.String(required=True)


class RecordedResponseListSchema(Schema):
    data = fields.List(fields.Nested(RecordedResponseSchema), required=True)
    next = fields.String(allow_none=True, required=True)


def _body(view: council_responses.ResponseView, item_id: int) -> dict:
    return {
        "id": view.id,
        "decision": view.decision,
        "theme": view.theme,
        "rationale": view.rationale,
        "created_at": view.created_at,
        "published_at": view.published_at,
        "notified_at": view.notified_at,
        "answers": view.references,
        "url": url_for("api_responses.listing", item_id=item_id),
    }


def _view_of(user_id: int, item_id: int, response_id: int) -> dict:
    views = council_responses.responses_for_item(user_id, item_id)
    return _body(next(v for v in views if v.id == response_id), item_id)


@blp.get("/items/<id:item_id>/responses")
@blp.response(200, RecordedResponseListSchema)
@blp.errors(403, 404)
def listing(item_id: int):  # noqa: ANN201
    """Every response on the item, drafts included, newest first."""
    user_id = signed_in()
    views = council_responses.responses_for_item(user_id, item_id)
    return {"data": [_body(view, item_id) for view in views], "next": None}


@blp.post("/items/<id:item_id>/responses")
@checked_first(lambda item_id: signed_in_as(*council_responses.WRITERS))
@blp.arguments(ResponseInputSchema)
@blp.response(201, RecordedResponseSchema, headers={"Location": {"schema": {"type": "string"}}})
@blp.errors(403, 404, 422)
def record(data: dict, item_id: int):  # noqa: ANN201
    """Record a decision on the item (or one of its themes) with its rationale and the
    submissions it answers; unknown references are refused, naming the field."""
    user_id = signed_in()
    try:
        response = council_responses.record_response(
            user_id,
            item_id,
            council_responses.ResponseInput(
                decision=Decision(data["decision"]),
                rationale=data["rationale"],
                theme=data["theme"],
                references=" ".join(data["answers"]),
            ),
            publish=data["publish"],
        )
    except DomainError as error:
        if error.field == "references":  # the form's field; here it is `answers`
            error.field = "answers"
        raise
    body = _view_of(user_id, item_id, response.id)
    return body, 201, {"Location": body["url"]}


@blp.post("/responses/<id:response_id>/publish")
@blp.response(200, RecordedResponseSchema)
@blp.errors(403, 404, 409)
def publish(response_id: int):  # noqa: ANN201
    """Publish a draft response: it appears on the item's page and the organisations
    concerned are told by email."""
    user_id = signed_in()
    council_responses.publish_response(user_id, response_id)
    item_id = council_responses.item_of(response_id)
    return _view_of(user_id, item_id, response_id)
