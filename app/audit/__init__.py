"""Writes append-only audit events in the caller's transaction."""

from __future__ import annotations

from flask import g, has_request_context
from sqlalchemy import insert

from app.extensions import db
from app.models import AuditEvent


def record(
    actor_id: int | None,
    action: str,
    target_type: str,
    target_id: int | None,
    *,
    before: dict[str, object] | None = None,
    after: dict[str, object] | None = None,
) -> AuditEvent:
    event = AuditEvent(
        actor_id=actor_id,
        action=action,
        target_type=target_type,
        target_id=target_id,
        before=_plain(before),
        after=_plain(after),
        request_id=g.get("request_id") if has_request_context() else None,
    )
    db.session.add(event)
    return event


def record_many(
    actor_id: int | None,
    action: str,
    target_type: str,
    targets: dict[int, dict[str, object] | None],
) -> None:
    """One event per target id (with its `after` values), in one statement: for imports."""
    if not targets:
        return
    request_id = g.get("request_id") if has_request_context() else None
    db.session.execute(
        insert(AuditEvent),
        [
            {
                "actor_id": actor_id,
                "action": action,
                "target_type": target_type,
                "target_id": target_id,
                "before": None,
                "after": _plain(after),
                "request_id": request_id,
            }
            for target_id, after in targets.items()
        ],
    )


def _plain(values: dict[str, object] | None) -> dict[str, object] | None:
    if values is None:
        return None
    return {key: str(value) if value is not None else None for key, value in values.items()}
