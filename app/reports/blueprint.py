"""The reports blueprint, shared by its page modules (reports, downloads, council responses)."""

from __future__ import annotations

from flask import Blueprint

from app import staff
from app.models import Role

bp = Blueprint("reports", __name__, url_prefix="/reports")
bp.before_request(staff.only(Role.COUNCIL, Role.ADMIN))
