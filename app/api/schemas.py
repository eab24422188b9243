"""Schemas shared by the API's resources: errors, translated text, pagination."""

from __future__ import annotations

from collections.abc import Callable

from flask import url_for
from marshmallow import Schema, fields, validate


class RowErrorSchema(Schema):
    index = fields.Integer(required=True, metadata={"description": "The row's place, from 0"})
    code = fields.String(required=True)
    message = fields.String(required=True)
    field = fields.String(allow_none=True)


class ErrorDetailSchema(Schema):
    code = fields.String(
        required=True, metadata={"description": "Machine-readable, e.g. not_found"}
    )
    message = fields.String(required=True, metadata={"description": "For people, translated"})
    field = fields.String(metadata={"description": "The request field at fault, if one is"})
    fields_ = fields.Dict(
        data_key="fields",
        keys=fields.String(),
        metadata={"description": "Every field at fault with its messages (validation errors)"},
    )
    rows = fields.List(
        fields.Nested(RowErrorSchema),
        metadata={"description": "A batch: every row at fault (nothing was saved)"},
    )


class ErrorSchema(Schema):
    error = fields.Nested(ErrorDetailSchema, required=True)
    request_id = fields.String(allow_none=True)


def Translated(description: str) -> fields.Dict:  # noqa: N802 - a field factory
    """Text in several languages: locale -> text; English is always there."""
    return fields.Dict(
        keys=fields.String(),
        values=fields.String(),
        required=True,
        metadata={"description": f"{description}, per language (en, es, fr); en always present"},
    )


class PageArgsSchema(Schema):
    after = fields.Integer(
        load_default=None,
        validate=validate.Range(min=0, max=2**31 - 1),
        metadata={"description": "The cursor: the last id of the page before"},
    )
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


def page_of(rows: list, limit: int, body: Callable, endpoint: str) -> dict:
    """One page of `rows` (fetched with limit + 1 to know whether more follow) and the link to
    the next page, which carries the cursor."""
    more = len(rows) > limit
    rows = rows[:limit]
    next_url = url_for(endpoint, after=rows[-1].id, limit=limit) if more and rows else None
    return {"data": [body(row) for row in rows], "next": next_url}
