"""The API's blueprint: error answers declared in the OpenAPI document."""

from __future__ import annotations

from collections.abc import Callable
from http import HTTPStatus

from flask_smorest import Blueprint

from app.api.schemas import ErrorSchema

# Any request can meet these: a malformed request, a bad token, too many requests, a fault.
ALWAYS = (400, 401, 429, 500, 503)


class ApiBlueprint(Blueprint):
    def errors(self, *statuses: int) -> Callable:
        """Declare the error statuses an operation can answer (plus ALWAYS), each with the
        error body of app.errors: Schemathesis fails the build on a status the document
        lacks."""

        def decorate(view: Callable) -> Callable:
            for status in sorted(set(statuses) | set(ALWAYS), reverse=True):
                view = self.alt_response(
                    status, schema=ErrorSchema, description=HTTPStatus(status).phrase
                )(view)
            return view

        return decorate
