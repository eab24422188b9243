"""Wake-ups for the worker, sent only after the transaction that recorded the job commits."""

from __future__ import annotations

from flask import current_app
from sqlalchemy import event
from sqlalchemy.orm import Session

from app.extensions import db

_PENDING = "consulta_pending_tasks"
# A web request must not hang on a broker outage: try briefly, then leave it to the reconciler.
SEND_RETRY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.5}


def enqueue_after_commit(task_name: str, *args: object) -> None:
    """Send `task_name(*args)` once the current transaction commits; drop it on rollback.

    The database row is the job; if this send is lost (broker down), the periodic reconciler
    sends it again, and every task is idempotent.
    """
    session = db.session()
    session.connection()  # the job belongs to a transaction, so its rollback can drop it
    session.info.setdefault(_PENDING, []).append((task_name, list(args)))


@event.listens_for(Session, "after_commit")
def _send_pending(session: Session) -> None:
    pending = session.info.pop(_PENDING, [])
    if not pending:
        return
    app = current_app._get_current_object()
    for task_name, args in pending:
        try:
            app.extensions["celery"].send_task(task_name, args=args, retry_policy=SEND_RETRY)
        except Exception:  # broker down: the reconciler re-sends from the database
            app.logger.warning(
                "could not enqueue %s%r; the reconciler will retry", task_name, args, exc_info=True
            )


@event.listens_for(Session, "after_soft_rollback")
def _drop_pending(session: Session, previous_transaction: object) -> None:
    # Fires on every rollback() call, even before any SQL ran; a savepoint keeps the outer jobs.
    if not getattr(previous_transaction, "nested", False):
        session.info.pop(_PENDING, None)
