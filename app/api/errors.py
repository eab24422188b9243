"""The API's blueprint: error answers declared in the OpenAPI document."""

from __future__ import annotations

from collections.abc import Callable
from http import HTTPStatus

import flask
from flask_babel import gettext as _
from flask_smorest import Blueprint
from webargs.flaskparser import FlaskParser
from werkzeug.datastructures import CombinedMultiDict

from app.api.schemas import ErrorSchema
from app.errors import DomainError, InvalidInput
from app.parsing import lone_surrogate_path


class InvalidJson(DomainError):
    code = "invalid_json"


class InvalidText(InvalidInput):
    """Text no database can hold, wherever it is in the body (422, naming where)."""

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message, field=field)
        self.faults = {field: message}


# Any request can meet these: a malformed request, a bad token, too many requests, a fault.
ALWAYS = (400, 401, 429, 500, 503)


class ApiParser(FlaskParser):
    """webargs' Flask parser plus `multipart`: the form's fields and files together, one
    multipart/form-data body in the document (an upload with its options)."""

    __location_map__ = {**FlaskParser.__location_map__, "multipart": "load_multipart"}

    def load_multipart(self, req: flask.Request, schema):  # noqa: ANN001, ANN201
        return self._makeproxy(CombinedMultiDict([req.form, req.files]), schema)

    def _raw_load_json(self, req: flask.Request):  # noqa: ANN202
        """webargs' JSON body, refusing what would otherwise end in a 500: nesting deeper than
        the decoder's recursion allows (400), and half a surrogate pair in a string, valid JSON
        that no database text can hold (an input fault, 422, naming where)."""
        try:
            data = super()._raw_load_json(req)
        except RecursionError as error:
            raise InvalidJson(_("The JSON body is nested too deeply.")) from error
        field = lone_surrogate_path(req.get_data(cache=True), data)
        if field is not None:
            raise InvalidText(
                _(
                    "This text holds a character that cannot be saved (a null character, or "
                    "half of an emoji): remove it."
                ),
                field=field,
            )
        return data


class ApiBlueprint(Blueprint):
    ARGUMENTS_PARSER = ApiParser()
    DEFAULT_LOCATION_CONTENT_TYPE_MAPPING = {
        **Blueprint.DEFAULT_LOCATION_CONTENT_TYPE_MAPPING,
        "multipart": "multipart/form-data",
    }

    def errors(self, *statuses: int) -> Callable:
        """Declare the error statuses an operation can answer (plus ALWAYS), each with the
        error body of app.errors.handlers: Schemathesis fails the build on a status the document
        lacks."""

        def decorate(view: Callable) -> Callable:
            for status in sorted(set(statuses) | set(ALWAYS), reverse=True):
                view = self.alt_response(
                    status, schema=ErrorSchema, description=HTTPStatus(status).phrase
                )(view)
            return view

        return decorate
