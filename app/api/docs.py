"""The interactive API documentation: Swagger UI, served from this site (no CDN, strict CSP)."""

from __future__ import annotations

from pathlib import Path

import flask_swagger_ui
from flask import Blueprint, render_template, send_from_directory, url_for

bp = Blueprint("api_docs", __name__)
SWAGGER_UI = Path(flask_swagger_ui.__file__).parent / "dist"


@bp.get("/")
def index():  # noqa: ANN201
    return render_template("api/docs.html", spec_url=url_for("api-docs.openapi_json"))


@bp.get("/assets/<path:filename>")
def asset(filename: str):  # noqa: ANN201
    return send_from_directory(SWAGGER_UI, filename, max_age=86400)
