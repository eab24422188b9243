"""The one leased-job runner: claim, heartbeat, finish, fail and reconcile every background job.

Kept whole on purpose, past the usual size: every rule about leases lives here and nowhere else.

A job is a row (a report, a report's part, a bulk decision, an email); the broker only carries
wake-ups, sent after the transaction that recorded the job commits (`enqueue_after_commit`).
A run *claims* a job: a new random lease token and a lease (`lease_until`). While it works, a
heartbeat thread renews the lease every third of its length, so leases are short: a worker
that dies, even killed outright, stops renewing, and within about one lease the reconciler
(beat, every `job_reconcile_seconds`) puts the job back in the queue for its next attempt.
Every write a run makes is conditioned on its token (`owned`), so a run that lost its job
changes nothing, and a duplicate wake-up finds nothing to claim.

Each kind of job is a `JobKind` declared beside its service; its attempts and lease length are
settings (app.config).
"""

from __future__ import annotations

import enum
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from flask import current_app
from sqlalchemy import ColumnElement, event, or_, select, update
from sqlalchemy.orm import Session

from app.extensions import db
from app.models.base import utcnow
from app.models.job import LeasedJob

# Recorded on a job whose workers kept disappearing until no attempt was left.
WORKER_LOST = "worker lost too many times"


class Statuses(NamedTuple):
    """A kind's own status values for the runner's four states."""

    queued: enum.Enum
    running: enum.Enum
    done: enum.Enum
    failed: enum.Enum


def error_kind(error: BaseException) -> str:
    """What a reader is told of a failure: its kind; the details go to the worker's log."""
    return type(error).__name__


@dataclass(frozen=True, eq=False)
class JobKind:
    """A kind of leased job: its model (a `LeasedJob` with a `status`), the task woken for it,
    the settings that give its attempts and lease, and how it is retried."""

    name: str
    model: type[Any]
    task: str
    statuses: Statuses
    attempts_setting: str  # app.config.Settings field: attempts allowed
    lease_setting: str  # Settings field: lease seconds (None there: job_lease_seconds)
    # A queued job whose wake-up has not started it after this long is sent again.
    requeue_after: timedelta = timedelta(seconds=30)
    # How long a job rests after its n-th failed attempt (None: it is retried at once).
    retry_backoff: Callable[[int], timedelta] | None = None
    # Failures that no further attempt would cure: the job fails at once.
    give_up_on: tuple[type[BaseException], ...] = ()
    describe_error: Callable[[BaseException], str] = error_kind
    # Only jobs meeting this condition are claimed or reconciled (a part, while its report runs).
    only_while: Callable[[], ColumnElement[bool]] | None = None
    # Extra values written when the job returns to the queue, and when it fails for good.
    requeued_values: Mapping[str, object] = field(default_factory=dict)
    failed_values: Mapping[str, object] = field(default_factory=dict)
    # Called in the same transaction with the ids of jobs that failed for good.
    on_failed: Callable[[list[int]], None] | None = None
    # The task that resumes a handed-over job (a consultation report's assembly). A handed-over
    # job is held by nobody, so when its resume is late the wake-up was lost, not a worker:
    # the reconciler sends this task again, and no attempt is counted.
    resume_task: str | None = None


class Retry(NamedTuple):
    """A job waiting to be retried: the attempt it waits for, of how many."""

    attempt: int
    attempts: int


# --- settings --------------------------------------------------------------------------------


def max_attempts(kind: JobKind) -> int:
    return getattr(current_app.config["SETTINGS"], kind.attempts_setting)


def lease_length(kind: JobKind) -> timedelta:
    settings = current_app.config["SETTINGS"]
    seconds = getattr(settings, kind.lease_setting) or settings.job_lease_seconds
    return timedelta(seconds=seconds)


# --- conditions ------------------------------------------------------------------------------


def owned(kind: JobKind, job_id: int, token: str) -> ColumnElement[bool]:
    """The job is running under this run's lease token (a SQL condition)."""
    model = kind.model
    return (
        (model.id == job_id)
        & (model.status == kind.statuses.running)
        & (model.lease_token == token)
    )


def due(kind: JobKind, now: datetime | None = None) -> ColumnElement[bool]:
    """A claim would take the job now, attempts aside: queued and not resting, or running
    under a lease that ran out (its worker died)."""
    now = now or utcnow()
    model, statuses = kind.model, kind.statuses
    return or_(
        (model.status == statuses.queued)
        & or_(model.lease_until.is_(None), model.lease_until < now),
        _worker_lost(kind, now),
    )


def _worker_lost(kind: JobKind, now: datetime) -> ColumnElement[bool]:
    """Running under a lease that ran out. A handed-over job of a kind that is resumed holds no
    token: its late resume is a lost wake-up, not a lost worker (see `reconcile`)."""
    model = kind.model
    lost = (model.status == kind.statuses.running) & (model.lease_until < now)
    if kind.resume_task is not None:
        lost = lost & model.lease_token.is_not(None)
    return lost


def _only_while(kind: JobKind) -> list[ColumnElement[bool]]:
    return [kind.only_while()] if kind.only_while is not None else []


# --- a run -----------------------------------------------------------------------------------


def claim(
    kind: JobKind,
    job_id: int,
    *,
    resume: bool = False,
    where: Sequence[ColumnElement[bool]] = (),
    values: Mapping[str, object] | None = None,
) -> str | None:
    """Take the job for a run: its new lease token, or None when it is not ours to run.

    A claim counts an attempt. `resume` takes instead a running job that its last run handed
    over (`hand_over`) for its next stage, without counting one. `where` adds conditions and
    `values` extra columns to write. Commits.
    """
    now = utcnow()
    model = kind.model
    token = uuid.uuid4().hex
    changes: dict[str, object] = {
        "status": kind.statuses.running,
        "lease_token": token,
        "lease_until": now + lease_length(kind),
        **(values or {}),
    }
    if resume:
        condition = (model.status == kind.statuses.running) & model.lease_token.is_(None)
    else:
        condition = due(kind, now) & (model.attempts < max_attempts(kind))
        changes["attempts"] = model.attempts + 1
    claimed = db.session.execute(
        update(model)
        .where(model.id == job_id, condition, *_only_while(kind), *where)
        .values(**changes)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return token if claimed.rowcount == 1 else None


def renew(kind: JobKind, job_id: int, token: str) -> bool:
    """Extend the run's lease, on a connection of its own (the run's session may be in the middle
    of a read); False when the run no longer owns the job."""
    with db.engine.begin() as connection:
        renewed = connection.execute(
            update(kind.model)
            .where(owned(kind, job_id, token))
            .values(lease_until=utcnow() + lease_length(kind))
        )
    return renewed.rowcount == 1


def still_owned(kind: JobKind, job_id: int, token: str) -> bool:
    """Whether the run still owns the job, locking its row in the caller's transaction so that
    no takeover slips in before that transaction ends (a chunk of work that must count once)."""
    return (
        db.session.scalar(select(kind.model.id).where(owned(kind, job_id, token)).with_for_update())
        is not None
    )


def finish(kind: JobKind, job_id: int, token: str, **values: object) -> bool:
    """Mark the job done with `values`, in the caller's transaction (the caller commits);
    False when the run no longer owns the job: the other run's work stands."""
    finished = db.session.execute(
        update(kind.model)
        .where(owned(kind, job_id, token))
        .values(
            status=kind.statuses.done,
            lease_until=None,
            lease_token=None,
            error=None,
            **values,
        )
    )
    return finished.rowcount == 1


def hand_over(kind: JobKind, job_id: int, token: str, **values: object) -> bool:
    """End the run but leave the job running with no holder, in the caller's transaction: other
    jobs carry on its work (a report's parts) and its next stage resumes it
    (`claim(resume=True)`). False when the run no longer owns the job."""
    handed = db.session.execute(
        update(kind.model)
        .where(owned(kind, job_id, token))
        .values(lease_until=None, lease_token=None, **values)
    )
    return handed.rowcount == 1


def expect_resume(kind: JobKind, job_id: int) -> None:
    """A handed-over job whose next stage has just been sent, in the caller's transaction: if no
    run resumes it within a lease (that wake-up was lost), the reconciler takes it over."""
    model = kind.model
    db.session.execute(
        update(model)
        .where(
            model.id == job_id,
            model.status == kind.statuses.running,
            model.lease_token.is_(None),
        )
        .values(lease_until=utcnow() + lease_length(kind))
    )


def fail(kind: JobKind, job_id: int, token: str, error: BaseException) -> bool:
    """Record the run's failure: back to the queue for another attempt (resting first when the
    kind backs off), or failed for good when no attempt is left or the error is one the kind
    gives up on. False, and nothing written, when the run no longer owns the job. Commits."""
    job = db.session.scalar(select(kind.model).where(owned(kind, job_id, token)).with_for_update())
    if job is None:
        db.session.rollback()
        return False
    job.error = kind.describe_error(error)
    job.lease_token = None
    job.lease_until = None
    if job.attempts >= max_attempts(kind) or isinstance(error, kind.give_up_on):
        job.status = kind.statuses.failed
        _assign(job, kind.failed_values)
        if kind.on_failed is not None:
            kind.on_failed([job_id])
    else:
        job.status = kind.statuses.queued
        _assign(job, kind.requeued_values)
        if kind.retry_backoff is not None:
            job.lease_until = utcnow() + kind.retry_backoff(job.attempts)
    db.session.commit()
    return True


def abandon(kind: JobKind, job_id: int, error: str) -> None:
    """Fail a queued or running job for good, whoever holds it, in the caller's transaction
    (a report whose part failed for good)."""
    model, statuses = kind.model, kind.statuses
    db.session.execute(
        update(model)
        .where(model.id == job_id, model.status.in_((statuses.queued, statuses.running)))
        .values(
            status=statuses.failed,
            lease_until=None,
            lease_token=None,
            error=error,
            **kind.failed_values,
        )
    )


def _assign(job: LeasedJob, values: Mapping[str, object]) -> None:
    for name, value in values.items():
        setattr(job, name, value)


class Heartbeat:
    """A daemon thread renewing a run's lease every third of it, on a connection of its own,
    until stopped or the lease is lost."""

    def __init__(self, kind: JobKind, job_id: int, token: str) -> None:
        self.kind, self.job_id, self.token = kind, job_id, token
        self.interval = lease_length(kind).total_seconds() / 3
        self.lost = threading.Event()
        self._app = current_app._get_current_object()
        self._stopping = threading.Event()
        self._thread = threading.Thread(
            target=self._beat, name=f"heartbeat {kind.name} {job_id}", daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread.is_alive():
            # Waiting on a row lock at worst; it stops after that renewal, which the job's new
            # state then refuses, so there is no need to wait for it long.
            self._thread.join(timeout=self.interval)

    def _beat(self) -> None:
        with self._app.app_context():
            while not self._stopping.wait(self.interval):
                try:
                    if not renew(self.kind, self.job_id, self.token):
                        self.lost.set()  # taken over, finished or failed meanwhile
                        return
                except Exception:  # the database blinked: the next beat tries again
                    self._app.logger.warning(
                        "could not renew the lease of %s %s",
                        self.kind.name,
                        self.job_id,
                        exc_info=True,
                    )


@dataclass
class Lease:
    """A claimed run of a job: its token, and its heartbeat while it runs."""

    kind: JobKind
    job_id: int
    token: str
    heartbeat: Heartbeat

    def owned(self) -> ColumnElement[bool]:
        return owned(self.kind, self.job_id, self.token)

    def finish(self, **values: object) -> bool:
        return finish(self.kind, self.job_id, self.token, **values)


@contextmanager
def running(
    kind: JobKind,
    job_id: int,
    *,
    resume: bool = False,
    where: Sequence[ColumnElement[bool]] = (),
    values: Mapping[str, object] | None = None,
) -> Iterator[Lease | None]:
    """Claim the job (see `claim`) and keep its lease alive while the block runs; None when it
    is not ours to run. An exception in the block is recorded as a failed attempt (`fail`),
    then raised again. The block finishes the job (`Lease.finish`) or hands it over; one that
    returns without either leaves the lease to run out, as a dead worker would."""
    token = claim(kind, job_id, resume=resume, where=where, values=values)
    if token is None:
        yield None
        return
    heartbeat = Heartbeat(kind, job_id, token)
    heartbeat.start()
    try:
        yield Lease(kind, job_id, token, heartbeat)
    except Exception as error:
        db.session.rollback()  # first: the heartbeat may be waiting on a row this run locked
        heartbeat.stop()
        fail(kind, job_id, token, error)
        raise
    finally:
        heartbeat.stop()


# --- queue -----------------------------------------------------------------------------------


def enqueue(kind: JobKind, job: LeasedJob) -> None:
    """Wake a worker for `job` once the caller's transaction commits, noting when."""
    job.enqueued_at = utcnow()
    enqueue_after_commit(kind.task, job.id)


def restart(kind: JobKind, job: LeasedJob, **values: object) -> None:
    """Queue a job that failed for good again, with every attempt ahead of it, in the caller's
    transaction; a worker is woken once it commits."""
    job.status = kind.statuses.queued
    job.attempts, job.error, job.lease_until, job.lease_token = 0, None, None, None
    _assign(job, values)
    enqueue(kind, job)


def reconcile(kind: JobKind, limit: int = 500) -> list[int]:
    """Beat's pass over one kind: jobs out of attempts fail; jobs whose worker died (lease run
    out) go back to the queue; queued jobs whose wake-up was lost are sent again, and so are
    handed-over jobs whose resume is late (`resume_task`). Returns the ids sent, at most `limit`
    of each sort. Commits."""
    now = utcnow()
    model, statuses = kind.model, kind.statuses
    scope = _only_while(kind)
    exhausted = list(
        db.session.scalars(
            update(model)
            .where(due(kind, now), model.attempts >= max_attempts(kind), *scope)
            .values(
                status=statuses.failed,
                lease_until=None,
                lease_token=None,
                error=WORKER_LOST,
                **kind.failed_values,
            )
            .returning(model.id)
            .execution_options(synchronize_session=False)
        )
    )
    if exhausted and kind.on_failed is not None:
        kind.on_failed(exhausted)
    lost_resumes: list[int] = []
    if kind.resume_task is not None:
        resume_late = (
            (model.status == statuses.running)
            & model.lease_token.is_(None)
            & (model.lease_until < now)
        )
        lost_resumes = list(
            db.session.scalars(
                select(model.id).where(resume_late, *scope).order_by(model.id).limit(limit)
            )
        )
        if lost_resumes:
            db.session.execute(
                update(model)
                .where(model.id.in_(lost_resumes), resume_late)
                .values(lease_until=now + lease_length(kind))
                .execution_options(synchronize_session=False)
            )
    lease_ran_out = _worker_lost(kind, now)
    lost_workers = _first(kind, lease_ran_out, limit)
    if lost_workers:
        db.session.execute(
            update(model)
            .where(model.id.in_(lost_workers), lease_ran_out)
            .values(
                status=statuses.queued,
                lease_until=None,
                lease_token=None,
                enqueued_at=now,
                **kind.requeued_values,
            )
            .execution_options(synchronize_session=False)
        )
    # Never sent, sent too long ago, or sent while the job rested (the claim refused it).
    unsent = (
        (model.status == statuses.queued)
        & or_(model.lease_until.is_(None), model.lease_until < now)
        & or_(
            model.enqueued_at.is_(None),
            model.enqueued_at < now - kind.requeue_after,
            model.enqueued_at < model.lease_until,
        )
    )
    lost_wake_ups = _first(kind, unsent, limit)
    if lost_wake_ups:
        db.session.execute(
            update(model)
            .where(model.id.in_(lost_wake_ups))
            .values(enqueued_at=now)
            .execution_options(synchronize_session=False)
        )
    resent = lost_workers + lost_wake_ups
    for job_id in resent:
        enqueue_after_commit(kind.task, job_id)
    for job_id in lost_resumes:
        enqueue_after_commit(kind.resume_task, job_id)
    db.session.commit()
    return resent + lost_resumes


def waiting(kind: JobKind, limit: int) -> list[int]:
    """Up to `limit` jobs a claim would take now, oldest first (a batch for one wake-up)."""
    return _first(kind, due(kind), limit)


def _first(kind: JobKind, condition: ColumnElement[bool], limit: int) -> list[int]:
    model = kind.model
    return list(
        db.session.scalars(
            select(model.id)
            .where(condition, model.attempts < max_attempts(kind), *_only_while(kind))
            .order_by(model.id)
            .limit(limit)
        )
    )


def waiting_for_retry(kind: JobKind, job: LeasedJob, now: datetime | None = None) -> Retry | None:
    """The attempt a job waits for after a failure or a lost worker, or None when it is not
    waiting to be retried (never tried, held by a live run, finished, or out of attempts)."""
    now = now or utcnow()
    allowed = max_attempts(kind)
    if not 0 < job.attempts < allowed:
        return None
    queued = job.status == kind.statuses.queued
    lost = (
        job.status == kind.statuses.running
        and job.lease_until is not None
        and job.lease_until < now
    )
    return Retry(job.attempts + 1, allowed) if queued or lost else None


# --- wake-ups after commit -------------------------------------------------------------------

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
