"""Files attached to my organisation's feedback: list, upload (the form's checks: type read
from the content, size, zip bombs, count), remove. Another organisation's are 404."""

from __future__ import annotations

from flask import url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_smorest.fields import Upload
from marshmallow import Schema, fields, validate
from werkzeug.datastructures import FileStorage

from app.api.errors import ApiBlueprint
from app.api.feedback import member, own_feedback
from app.api.http import checked_first
from app.downloads import send_attachment
from app.errors import DomainError
from app.feedback import attachments
from app.models import Attachment, Disclosure

blp = ApiBlueprint(
    "api_attachments",
    __name__,
    description="Files attached to your organisation's feedback (the form's checks apply).",
)


class AttachmentSchema(Schema):
    id = fields.Integer(required=True)
    filename = fields.String(required=True)
    content_type = fields.String(required=True, metadata={"description": "Read from the file"})
    size = fields.Integer(required=True)
    disclosure = fields.String(required=True, metadata={"enum": [d.value for d in Disclosure]})
    created_at = fields.DateTime(required=True)
    url = fields.String(required=True, metadata={"description": "Where to download it"})


class AttachmentListSchema(Schema):
    data = fields.List(fields.Nested(AttachmentSchema), required=True)
    next = fields.String(allow_none=True, required=True)


class UploadSchema(Schema):
    file = Upload(required=True, metadata={"description": "PDF, office document, image or zip"})
    disclosure = fields.String(
        load_default=Disclosure.PUBLIC.value,
        validate=validate.OneOf([d.value for d in Disclosure]),
    )


def _body(attachment: Attachment) -> dict:
    return {
        "id": attachment.id,
        "filename": attachment.filename,
        "content_type": attachment.content_type,
        "size": attachment.size,
        "disclosure": attachment.disclosure.value,
        "created_at": attachment.created_at,
        "url": url_for("api_attachments.download", attachment_id=attachment.id),
    }


@blp.get("/feedback/<id:feedback_id>/attachments")
@blp.response(200, AttachmentListSchema)
@blp.errors(403, 404)
def listing(feedback_id: int):  # noqa: ANN201
    found = own_feedback(feedback_id)
    return {"data": [_body(a) for a in attachments.attachments_of(found.id)], "next": None}


@blp.post("/feedback/<id:feedback_id>/attachments")
@checked_first(own_feedback)
@blp.arguments(UploadSchema, location="multipart")
@blp.response(201, AttachmentSchema, headers={"Location": {"schema": {"type": "string"}}})
@blp.errors(403, 404, 409, 413, 422)
def upload(form: dict, feedback_id: int):  # noqa: ANN201
    """Attach a file. Its type is read from its content, not its name; an empty, damaged or
    too large file, a refused type or a dangerous zip is refused with the reason (422, field
    `file`); a file too many, or on a position that can no longer change, is 409."""
    found = own_feedback(feedback_id)
    chosen = form["file"]
    if not isinstance(chosen, FileStorage):  # a plain form field named "file"
        raise DomainError(_('Send the file itself as the "file" part.'), field="file")
    try:
        saved = attachments.add_attachment(
            current_user.id,
            found.item_id,
            chosen.stream,
            chosen.filename or "",
            Disclosure(form["disclosure"]),
        )
    except DomainError as error:
        if error.field == "attachment":  # the form's field; here it is `file`
            error.field = "file"
        raise
    body = _body(saved)
    return body, 201, {"Location": body["url"]}


@blp.get("/attachments/<id:attachment_id>")
@blp.response(
    200, content_type="application/octet-stream", description="The file, as it was uploaded"
)
@blp.errors(404)
def download(attachment_id: int):  # noqa: ANN201
    """A file your organisation attached, or a public file of published feedback."""
    return send_attachment(attachment_id)


@blp.delete("/attachments/<id:attachment_id>")
@blp.response(204)
@blp.errors(403, 404, 409)
def remove(attachment_id: int):  # noqa: ANN201
    """Remove a file of my organisation's feedback while the position can still change."""
    member()
    attachments.remove_attachment(current_user.id, attachment_id)
    return ""
