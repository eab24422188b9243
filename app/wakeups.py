"""Batched wake-ups: one message to the worker for many rows of follow-up work.

A web request that leaves work for the worker in a table (a flag check, an email in the
outbox) calls `wake_after_commit(task)`. After the commit, the task is sent only if no wake-up
of it is already pending: a Redis key, set with NX and a short expiry, says one is. The task
takes every row waiting, in batches, then calls `drained(task)`, which deletes the key, and
looks once more: a request that found the key set committed its row before that, so the last
look sees it; a request after the deletion sends a new wake-up. So a burst of a thousand
submissions costs a handful of messages, and no row waits for longer than one batch.

If Redis is not configured (the embedded default) or does not answer, every wake-up is sent;
if a wake-up is lost, the periodic reconcilers still find the rows.
"""

from __future__ import annotations

from collections.abc import Callable

import redis
from flask import Flask, current_app
from sqlalchemy import event
from sqlalchemy.orm import Session

from app.cache import redis_client
from app.extensions import db

_PENDING = "consulta_pending_wakeups"
KEY_PREFIX = "consulta:wake:"
# A pending wake-up is assumed lost after this long (its worker died): the next commit sends one.
WAKE_EXPIRY_MS = 2000


def wake_after_commit(task_name: str) -> None:
    """Wake `task_name` (a task without arguments) once the current transaction commits."""
    session = db.session()
    session.connection()  # bound to the transaction: a rollback drops the wake-up
    pending = session.info.setdefault(_PENDING, [])
    if task_name not in pending:
        pending.append(task_name)


def drained(task_name: str) -> None:
    """Called by the task when it found nothing more to do: the next commit wakes it again."""
    client = redis_client(current_app)
    if client is None:
        return
    try:
        client.delete(_key(current_app, task_name))
    except redis.RedisError:
        current_app.logger.warning("could not clear the wake-up key of %s", task_name)


def run_until_drained(task_name: str, batch: Callable[[], int]) -> int:
    """Run `batch` (returns how many rows it took) until it finds nothing, then `drained`, then
    once more (see the module's docstring). Returns the number of rows taken in all."""
    total = 0
    while True:
        taken = batch()
        total += taken
        if taken:
            continue
        drained(task_name)
        taken = batch()
        total += taken
        if not taken:
            return total


def _key(app: Flask, task_name: str) -> str:
    return f"{KEY_PREFIX}{app.config['SETTINGS'].celery_queue}:{task_name}"


def _first_since_drained(app: Flask, task_name: str) -> bool:
    client = redis_client(app)
    if client is None:
        return True
    try:
        return bool(client.set(_key(app, task_name), "1", nx=True, px=WAKE_EXPIRY_MS))
    except redis.RedisError:
        return True  # better a duplicate wake-up than none


@event.listens_for(Session, "after_commit")
def _send_wakeups(session: Session) -> None:
    pending = session.info.pop(_PENDING, [])
    if not pending:
        return
    app = current_app._get_current_object()
    for task_name in pending:
        if not _first_since_drained(app, task_name):
            continue
        try:
            app.extensions["celery"].send_task(task_name, retry_policy=_SEND_RETRY)
        except Exception:  # broker down: the reconcilers find the rows
            app.logger.warning("could not wake %s; the reconciler will", task_name, exc_info=True)
            drained(task_name)


@event.listens_for(Session, "after_soft_rollback")
def _drop_wakeups(session: Session, previous_transaction: object) -> None:
    if not getattr(previous_transaction, "nested", False):
        session.info.pop(_PENDING, None)


_SEND_RETRY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.5}
