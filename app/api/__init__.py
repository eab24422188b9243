"""The JSON API under /api/v1, for coalitions' and analysts' own tools.

Built with flask-smorest: each resource is a blueprint whose marshmallow schemas both check
what comes in and describe what goes out, so the OpenAPI 3 document at /api/v1/openapi.json
is generated from the code that answers. Views stay thin and call the same services as the
HTML views. Errors are answered by app.errors.handlers (JSON under /api/), in the shape of
`schemas.ErrorSchema`, which the document declares for every error status.
"""

from __future__ import annotations

from flask import Flask
from flask_smorest import Api

from app.api.http import API_PREFIX, IdConverter, id_parameter
from app.api.schemas import ErrorSchema


class ConsultaApi(Api):
    ERROR_SCHEMA = ErrorSchema

    def _register_error_handlers(self) -> None:
        """app.errors.handlers answers every error, HTML pages and API alike."""


def init_api(app: Flask) -> ConsultaApi:
    """One Api per app (tests build many apps; the spec belongs to its app)."""
    from app.api import (
        attachments,
        auth,
        consultations,
        docs,
        feedback,
        onboarding,
        reports,
        responses,
    )

    app.config.update(
        API_TITLE="Consulta API",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX=API_PREFIX,
        OPENAPI_JSON_PATH="openapi.json",
    )
    app.url_map.converters["id"] = IdConverter
    api = ConsultaApi(
        app,
        spec_kwargs={
            "info": {
                "description": (
                    "Consultations, items, feedback, reports and council responses of a Consulta "
                    "site. Authenticate with a personal API token from your account page: "
                    "`Authorization: Bearer <token>`. Reading published content needs no token."
                )
            },
            "servers": [{"url": "/"}],
        },
    )
    api.register_converter(IdConverter, id_parameter)
    api.spec.components.security_scheme(
        "bearerToken", {"type": "http", "scheme": "bearer", "description": "A personal API token"}
    )
    api.register_blueprint(consultations.blp, url_prefix=f"{API_PREFIX}/consultations")
    api.register_blueprint(feedback.blp, url_prefix=f"{API_PREFIX}/feedback")
    api.register_blueprint(attachments.blp, url_prefix=API_PREFIX)
    api.register_blueprint(responses.blp, url_prefix=API_PREFIX)
    api.register_blueprint(reports.blp, url_prefix=f"{API_PREFIX}/reports")
    api.register_blueprint(onboarding.blp, url_prefix=f"{API_PREFIX}/organizations")
    api.register_blueprint(reports.public_blp, url_prefix=f"{API_PREFIX}/consultations")
    app.register_blueprint(docs.bp, url_prefix=f"{API_PREFIX}/docs")
    auth.register(app)
    return api
