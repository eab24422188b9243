"""The moderation blueprint, shared by its page modules (queue and review, decisions)."""

from __future__ import annotations

from flask import Blueprint

from app import staff

bp = Blueprint("moderation", __name__, url_prefix="/moderation")
bp.before_request(staff.only(*staff.STAFF))
