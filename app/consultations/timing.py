"""When a consultation takes feedback, said in the reader's language: "Closes in 5 days, on
10 March 2027", "Opens on …", "Closed on …"."""

from __future__ import annotations

from datetime import datetime

from flask_babel import format_date, format_timedelta
from flask_babel import gettext as _

from app.models import Consultation, ConsultationState


def window_text(consultation: Consultation, now: datetime) -> str:
    """The time left to comment, or when commenting opens or closed. A state the council set
    by hand (closed early, kept open) is said without a date that would contradict it."""
    state = consultation.state_at(now)
    if state is ConsultationState.OPEN:
        if consultation.closes_at > now:
            return _(
                "Closes in %(left)s, on %(date)s",
                left=format_timedelta(consultation.closes_at - now, threshold=1),
                date=format_date(consultation.closes_at, "long"),
            )
        return _("Open for feedback until the council closes it")
    if state is ConsultationState.UPCOMING:
        if consultation.opens_at > now:
            return _("Opens on %(date)s", date=format_date(consultation.opens_at, "long"))
        return _("Opens soon")
    if consultation.closes_at <= now:
        return _("Closed on %(date)s", date=format_date(consultation.closes_at, "long"))
    return _("Closed to feedback")
