"""Consultations and their items, with every version of each item's text: public reading."""

from __future__ import annotations

from flask import url_for
from marshmallow import Schema, fields

from app.api.errors import ApiBlueprint
from app.api.schemas import Translated
from app.models import ConsultationState
from app.models.base import utcnow
from app.services import consultations

blp = ApiBlueprint(
    "api_consultations",
    __name__,
    description="Consultations and the items they ask about, in every language written.",
)


class VersionSchema(Schema):
    number = fields.Integer(required=True)
    title = Translated("The item's title")
    body = Translated("The item's text, in Markdown")
    change_note = fields.String(
        allow_none=True, required=True, metadata={"description": "What changed from the last"}
    )
    created_at = fields.DateTime(required=True, metadata={"description": "ISO 8601, UTC"})


class ItemSummarySchema(Schema):
    id = fields.Integer(required=True)
    code = fields.String(required=True, metadata={"example": "P1"})
    kind = fields.String(required=True, metadata={"description": "pledge or recommendation"})
    position = fields.Integer(required=True)
    current_version = fields.Integer(required=True)
    title = Translated("The current title")
    url = fields.String(required=True, metadata={"description": "This item in the API"})


class ItemSchema(ItemSummarySchema):
    source = Translated("Where the text comes from")
    consultation = fields.String(required=True, metadata={"description": "Its slug"})
    versions = fields.List(
        fields.Nested(VersionSchema), required=True, metadata={"description": "Oldest first"}
    )


class ConsultationSchema(Schema):
    id = fields.Integer(required=True)
    slug = fields.String(required=True)
    title = Translated("The title")
    summary = Translated("The summary")
    opens_at = fields.DateTime(required=True, metadata={"description": "ISO 8601, UTC"})
    closes_at = fields.DateTime(required=True, metadata={"description": "ISO 8601, UTC"})
    state = fields.String(
        required=True, metadata={"enum": [state.value for state in ConsultationState]}
    )
    url = fields.String(required=True)


class ConsultationDetailSchema(ConsultationSchema):
    items = fields.List(fields.Nested(ItemSummarySchema), required=True)


class ConsultationListSchema(Schema):
    data = fields.List(fields.Nested(ConsultationSchema), required=True)
    next = fields.String(
        allow_none=True, required=True, metadata={"description": "The next page; null on the last"}
    )


def _consultation(consultation) -> dict:  # noqa: ANN001 - a Consultation row
    return {
        "id": consultation.id,
        "slug": consultation.slug,
        "title": consultation.title,
        "summary": consultation.summary,
        "opens_at": consultation.opens_at,
        "closes_at": consultation.closes_at,
        "state": consultation.state_at(utcnow()).value,
        "url": url_for("api_consultations.consultation", slug=consultation.slug),
    }


def _item(view, slug: str) -> dict:  # noqa: ANN001 - a consultations.ItemView
    item = view.item
    return {
        "id": item.id,
        "code": item.code,
        "kind": item.kind.value,
        "position": item.position,
        "current_version": item.current_version,
        "title": view.version.title,
        "url": url_for("api_consultations.item", slug=slug, code=item.code),
    }


@blp.get("")
@blp.response(200, ConsultationListSchema)
@blp.errors(429)
def consultation_list():  # noqa: ANN201
    """Every consultation, newest first (one page: a site holds a handful)."""
    return {"data": [_consultation(c) for c in consultations.list_consultations()], "next": None}


@blp.get("/<string:slug>")
@blp.response(200, ConsultationDetailSchema)
@blp.errors(404, 429)
def consultation(slug: str):  # noqa: ANN201
    """One consultation with its items in order."""
    found = consultations.get_consultation(slug)
    views = consultations.items_with_current_versions(found.id)
    return {**_consultation(found), "items": [_item(view, slug) for view in views]}


@blp.get("/<string:slug>/items/<string:code>")
@blp.response(200, ItemSchema)
@blp.errors(404, 429)
def item(slug: str, code: str):  # noqa: ANN201
    """One item with every version of its text (feedback answers the version it was written on)."""
    view = consultations.get_item(slug, code)
    versions = consultations.item_versions(view.item.id)
    return {
        **_item(view, slug),
        "source": view.item.source,
        "consultation": slug,
        "versions": [
            {
                "number": version.number,
                "title": version.title,
                "body": version.body,
                "change_note": version.change_note,
                "created_at": version.created_at,
            }
            for version in versions
        ],
    }
