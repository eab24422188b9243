"""What the co-signing tests share: the demo organisations they invite, and a start without the
demo's joint submissions (the `without_demo_cosignatures` fixture of tests/integration)."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import delete

from app.extensions import db
from app.models import FeedbackCosigner

MEXICAN = "Red Fronteriza de Acogida"  # verified; P4 published (support, priority 5), P6 submitted
QUEBEC = "Coalition québécoise pour l'accueil"  # verified; P4 published, P2 rejected
# Verified; P2 published, P5 sent back for changes, nothing on P1 or P4.
WORKERS = "Central American Workers' Rights Centre"
DIASPORA = "Diaspora Futures Collective"  # pending verification
# Verified, working across countries; no overall position on P3 (published) and P5 (submitted).
HEMISPHERIC = "Hemispheric Alliance for Migrant Rights"


def remove_demo_cosignatures(app: Flask) -> None:
    """The demo's joint submissions are removed, so that a test starts from none."""
    with app.app_context():
        db.session.execute(delete(FeedbackCosigner))
        db.session.commit()
