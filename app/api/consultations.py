"""Consultations and their items, with every version of each item's text: public reading."""

from __future__ import annotations

from flask import url_for
from marshmallow import Schema, fields, validate

from app.api.errors import ApiBlueprint
from app.api.schemas import PageArgsSchema, Translated
from app.consultations import services as consultations
from app.feedback import published as published_feedback
from app.models import ConsultationState, Stance
from app.models.base import utcnow

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


class PublicFileSchema(Schema):
    filename = fields.String(required=True)
    content_type = fields.String(required=True)
    size = fields.Integer(required=True)
    url = fields.String(required=True)


class PublishedFeedbackSchema(Schema):
    id = fields.Integer(required=True)
    reference = fields.String(required=True)
    organisation = fields.String(
        allow_none=True, required=True, metadata={"description": "null when anonymous"}
    )
    stance = fields.String(allow_none=True, required=True)
    priority = fields.Integer(allow_none=True, required=True)
    comment = fields.String(
        allow_none=True, required=True, metadata={"description": "null when for the council only"}
    )
    amendment = fields.String(allow_none=True, required=True)
    affected_populations = fields.List(fields.String(), required=True)
    countries = fields.List(fields.String(), required=True)
    evidence_links = fields.List(fields.String(), required=True)
    language = fields.String(allow_none=True, required=True)
    published_at = fields.DateTime(allow_none=True, required=True)
    cosigners = fields.List(fields.String(), required=True)
    cosigner_count = fields.Integer(required=True)
    files = fields.List(fields.Nested(PublicFileSchema), required=True)


class PublishedFeedbackPageSchema(Schema):
    data = fields.List(fields.Nested(PublishedFeedbackSchema), required=True)
    next = fields.String(allow_none=True, required=True)


class PublishedFeedbackArgsSchema(PageArgsSchema):
    after = fields.String(
        load_default=None,
        validate=validate.Length(min=1, max=40),
        metadata={
            "description": "The cursor: copy it from the `next` link (a position's id, as earlier"
            " links carried, is read too); one this list never wrote answers 400"
        },
    )
    stance = fields.String(validate=validate.OneOf([s.value for s in Stance]))
    language = fields.String(validate=validate.Length(min=2, max=5))


class CouncilResponseSchema(Schema):
    decision = fields.String(required=True)
    theme = fields.String(allow_none=True, required=True)
    rationale = fields.String(required=True)
    published_at = fields.DateTime(required=True)
    answers = fields.List(
        fields.String(),
        required=True,
        metadata={"description": "References of the published feedback it answers"},
    )


class CouncilResponseListSchema(Schema):
    data = fields.List(fields.Nested(CouncilResponseSchema), required=True)
    next = fields.String(allow_none=True, required=True)


@blp.get("/<string:slug>/items/<string:code>/feedback")
@blp.arguments(PublishedFeedbackArgsSchema, location="query")
@blp.response(200, PublishedFeedbackPageSchema)
@blp.errors(404, 422)
def published(args: dict, slug: str, code: str):  # noqa: ANN201
    """The item's published feedback, newest first, as the public page shows it (council-only
    text and anonymous names left out, redactions applied); filter by stance or language.

    Pages are keyset: the `next` link's cursor names a place in the list, not a row, so it leads
    to the same place when positions are published or withdrawn meanwhile."""
    view = consultations.get_item(slug, code)
    limit = args["limit"]
    entries = published_feedback.published_feedback_after(
        view.item.id,
        after=_cursor(args.get("after")),
        limit=limit + 1,
        stance=Stance(args["stance"]) if args.get("stance") else None,
        language=args.get("language"),
    )
    more, entries = len(entries) > limit, entries[:limit]
    next_url = None
    if more:
        query = {k: v for k, v in args.items() if k in ("stance", "language") and v}
        next_url = url_for(
            "api_consultations.published",
            slug=slug,
            code=code,
            after=str(published_feedback.Cursor.of(entries[-1])),
            limit=limit,
            **query,
        )
    return {"data": [_published(entry) for entry in entries], "next": next_url}


def _cursor(after: str | None) -> published_feedback.Cursor | int | None:
    """The `after` of a next link, or a position's id (the links of earlier versions)."""
    if after is None:
        return None
    if after.isascii() and after.isdigit():
        if len(after) > 10 or int(after) > published_feedback.MAX_ID:
            raise published_feedback.InvalidCursor()
        return int(after)
    return published_feedback.Cursor.parse(after)


def _published(entry) -> dict:  # noqa: ANN001 - a published_feedback.PublicFeedback
    return {
        "id": entry.id,
        "reference": entry.reference,
        "organisation": entry.organization,
        "stance": entry.stance.value if entry.stance else None,
        "priority": entry.priority,
        "comment": entry.comment,
        "amendment": entry.amendment,
        "affected_populations": entry.affected_populations,
        "countries": entry.countries,
        "evidence_links": entry.evidence_links,
        "language": entry.language,
        "published_at": entry.published_at,
        "cosigners": entry.cosigners,
        "cosigner_count": entry.cosigner_count,
        "files": [
            {
                "filename": file.filename,
                "content_type": file.content_type,
                "size": file.size,
                "url": url_for("api_attachments.download", attachment_id=file.id),
            }
            for file in entry.attachments
        ],
    }


@blp.get("/<string:slug>/items/<string:code>/responses")
@blp.response(200, CouncilResponseListSchema)
@blp.errors(404)
def responses(slug: str, code: str):  # noqa: ANN201
    """The council's published responses on the item ("we asked, you said, we did"), newest
    first, with the references of the feedback each answers."""
    view = consultations.get_item(slug, code)
    found = consultations.council_responses(view.item.id)
    return {
        "data": [
            {
                "decision": r.decision,
                "theme": r.theme,
                "rationale": r.rationale,
                "published_at": r.published_at,
                "answers": r.references,
            }
            for r in found
        ],
        "next": None,
    }
