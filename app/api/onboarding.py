"""Importing organisations and their leads from a CSV file (admins only): the same service as
the admin page, app.organizations.onboarding, whose docstring describes the columns."""

from __future__ import annotations

from flask import request
from flask_babel import gettext as _
from marshmallow import Schema, fields

from app.api.errors import ApiBlueprint
from app.api.http import signed_in
from app.errors import DomainError
from app.organizations import onboarding

blp = ApiBlueprint(
    "api_onboarding",
    __name__,
    description="Organisations and their leads imported from a CSV file (admins only).",
)

COLUMNS_DOC = ", ".join(
    f"`{name}`{'' if name in onboarding.REQUIRED else ' (optional)'}" for name in onboarding.COLUMNS
)
REQUEST_BODY = {
    "required": True,
    "description": (
        f"A UTF-8 CSV file with a header line; columns {COLUMNS_DOC}. Send it as the body "
        "(`text/csv`) or as the `file` part of a multipart form."
    ),
    "content": {
        "text/csv": {"schema": {"type": "string"}},
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["file"],
                "properties": {"file": {"type": "string", "format": "binary"}},
            }
        },
    },
}


class ImportResultSchema(Schema):
    rows = fields.Integer(required=True, metadata={"description": "Organisations in the file"})
    organizations_created = fields.Integer(required=True)
    organizations_present = fields.Integer(required=True)
    leads_created = fields.Integer(required=True)
    leads_present = fields.Integer(required=True)
    invitations_queued = fields.Integer(
        required=True, metadata={"description": "Leads mailed a link to choose a password"}
    )


def _uploaded() -> bytes:
    if request.mimetype == "multipart/form-data":
        upload = request.files.get("file")
        if upload is None:
            raise DomainError(_('Send the file itself as the "file" part.'), field="file")
        return upload.read(onboarding.MAX_FILE_BYTES + 1)
    return request.get_data(cache=False)


@blp.post("/import")
@blp.doc(requestBody=REQUEST_BODY)
@blp.response(201, ImportResultSchema, description="Something was created")
@blp.alt_response(200, schema=ImportResultSchema, description="Everything was already there")
@blp.errors(403, 409, 413, 422)
def import_organizations():  # noqa: ANN201
    """Import organisations and their leads. Every line is checked first: one faulty line
    imports nothing, and 422 lists every fault (`error.rows`: line, field, code, message).
    Importing the same file again creates nothing (200); a lead without a password yet is
    mailed again at most once a day."""
    user_id = signed_in()
    result = onboarding.import_organizations(user_id, _uploaded())
    return ImportResultSchema().dump(result), 201 if result.created_anything else 200
