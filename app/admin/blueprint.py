"""The admin blueprint, shared by its page modules (users, content, invitations)."""

from __future__ import annotations

from flask import Blueprint

from app import staff
from app.models import Role

bp = Blueprint("admin", __name__, url_prefix="/admin")
bp.before_request(staff.only(Role.ADMIN))
