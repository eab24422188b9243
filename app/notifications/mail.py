"""The email outbox: messages are rows written in the caller's transaction, then delivered."""

from __future__ import annotations

import smtplib
from dataclasses import dataclass, field
from datetime import timedelta
from email import policy
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

from flask import current_app, has_request_context, render_template, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import insert, select
from sqlalchemy.dialects import postgresql, sqlite

from app import jobs, wakeups
from app.extensions import db
from app.models import Notification, NotificationStatus
from app.models.base import utcnow

DELIVER_TASK = "worker.notifications.deliver_notification"
DELIVER_PENDING_TASK = "worker.notifications.deliver_pending"
DELIVERY_BATCH = 50
MAX_RETRY_DELAY = timedelta(hours=6)
RESEND_AFTER = timedelta(minutes=2)
# Failures of the mail server or the network: recorded, and the message waits for its next try.
DELIVERY_ERRORS = (smtplib.SMTPException, OSError)
# Headers are not folded: Python 3.11 drops the space between two encoded words when it folds
# a long non-ASCII subject ("été publiée" arrived as "étépubliée").
HEADER_POLICY = policy.SMTP.clone(max_line_length=998)
ATTACHMENT_TYPES = {".pdf": "pdf"}


def _subjects() -> dict[str, str]:
    return {
        "confirm_email": _("Confirm your email address for Consulta"),
        "already_registered": _("Someone tried to register with your email on Consulta"),
        "password_reset": _("Reset your Consulta password"),
        "tokens_revoked": _("Your Consulta API tokens were revoked"),
        "sign_in_link": _("Your link to sign in to Consulta"),
        "colleague_invitation": _("You are invited to join your organisation on Consulta"),
        "join_request": _("Someone asks to join your organisation on Consulta"),
        "join_decided": _("Your request to join an organisation on Consulta"),
        "email_change": _("Confirm your new email address for Consulta"),
        "cosign_request": _("An organisation invites yours to co-sign its position on Consulta"),
        "cosign_decided": _("An answer to your invitation to co-sign on Consulta"),
        "feedback_receipt": _("Receipt for your organisation's feedback on Consulta"),
        "feedback_rejected": _("Your organisation's feedback on Consulta was not published"),
        "changes_requested": _("Moderators ask for changes to your organisation's feedback"),
        "organization_decided": _("A moderator's decision about your organisation on Consulta"),
        "consultation_invitation": _("You are invited to give feedback on a Consulta consultation"),
        "consultation_reminder": _("Reminder: the deadline for your feedback on Consulta is near"),
        "council_response": _("The council has responded to feedback on Consulta"),
        "report_ready": _("A new Consulta report is ready"),
        "lead_invitation": _("Your organisation is on Consulta: choose your password"),
    }


def absolute_url(endpoint: str, **values: object) -> str:
    """A link for an email: BASE_URL, never the request's Host header (which can be forged)."""
    if has_request_context():
        path = url_for(endpoint, **values)
    else:  # a worker or a command: build the path without a request of its own
        with current_app.test_request_context():
            path = url_for(endpoint, **values)
    return current_app.config["SETTINGS"].base_url + path


def queue_email(
    kind: str,
    to_email: str,
    locale: str,
    *,
    dedupe_key: str,
    user_id: int | None = None,
    attachment: str | None = None,
    **context: object,
) -> int | None:
    """Write the message in `locale` to the outbox; it is sent after the caller commits.

    One insert: the same `dedupe_key` never queues twice (None is returned for the repeat,
    else the new message's id). The worker sends the outbox in batches, woken once for many
    messages (app.wakeups). `attachment` is a file under the instance folder, read when the
    message is sent.
    """
    subject, body = _written(kind, locale, context)
    notification_id = db.session.scalar(
        _dialect()
        .insert(Notification)
        .values(
            dedupe_key=dedupe_key,
            user_id=user_id,
            to_email=to_email,
            subject=subject,
            body_text=body,
            attachment=attachment,
            status=NotificationStatus.PENDING,
            created_at=utcnow(),
            enqueued_at=utcnow(),  # the batched wake-up below is its "sent"
        )
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
        .returning(Notification.id)
    )
    if notification_id is not None:
        wakeups.wake_after_commit(DELIVER_PENDING_TASK)
    return notification_id


def deliver_pending(batch_size: int = DELIVERY_BATCH) -> int:
    """Send every message waiting in the outbox, `batch_size` at a time; the task of the
    batched wake-up. Returns how many it took (sent, or failed and resting)."""

    def batch() -> int:
        ids = jobs.waiting(DELIVERY, batch_size)
        db.session.rollback()  # end the read: each delivery is a leased job of its own
        for notification_id in ids:
            deliver_notification(notification_id)
        return len(ids)

    return wakeups.run_until_drained(DELIVER_PENDING_TASK, batch)


def _dialect():  # noqa: ANN202 - the dialect module whose insert has on_conflict_do_nothing
    return postgresql if db.session.get_bind().dialect.name == "postgresql" else sqlite


def _written(kind: str, locale: str, context: dict[str, object]) -> tuple[str, str]:
    """The subject and plain-text body of a `kind` message in `locale`."""
    with force_locale(locale):
        return _subjects()[kind], render_template(f"email/{kind}.txt", **context)


@dataclass(frozen=True)
class Outgoing:
    """One message of `queue_emails`: its address, locale, dedupe key and template values."""

    to_email: str
    locale: str
    dedupe_key: str
    user_id: int | None = None
    context: dict[str, object] = field(default_factory=dict)


def queue_emails(kind: str, messages: list[Outgoing]) -> int:
    """`queue_email` for many messages of one kind at once (an import's invitations): one
    query for the dedupe keys already used, one insert; returns how many were queued."""
    keys = [message.dedupe_key for message in messages]
    used = set(
        db.session.scalars(select(Notification.dedupe_key).where(Notification.dedupe_key.in_(keys)))
    )
    now, rows, seen = utcnow(), [], set(used)
    for message in messages:
        if message.dedupe_key in seen:
            continue
        seen.add(message.dedupe_key)
        subject, body = _written(kind, message.locale, message.context)
        rows.append(
            {
                "dedupe_key": message.dedupe_key,
                "user_id": message.user_id,
                "to_email": message.to_email,
                "subject": subject,
                "body_text": body,
                "status": NotificationStatus.PENDING,
                "enqueued_at": now,  # as jobs.enqueue notes it
            }
        )
    if not rows:
        return 0
    ids = db.session.scalars(insert(Notification).returning(Notification.id), rows).all()
    wakeups.wake_after_commit(DELIVER_PENDING_TASK)
    return len(ids)


def deliver_notification(notification_id: int) -> bool:
    """Send one pending message over SMTP; False when it is not ours to send or it failed.

    A failure leaves the message pending: it rests, longer after each attempt, before the
    reconciler tries again, so a mail server that is down for hours loses nothing.
    """
    try:
        with jobs.running(DELIVERY, notification_id) as lease:
            if lease is None:
                return False
            _send(db.session.get(Notification, notification_id))
            if not lease.finish(sent_at=utcnow()):
                db.session.rollback()
                return False
            db.session.commit()
            return True
    except DELIVERY_ERRORS as error:  # recorded by the runner: never lose the message
        current_app.logger.warning("notification %s not delivered: %s", notification_id, error)
        return False


def retry_delay(attempts: int) -> timedelta:
    """How long a message waits after its `attempts`-th failed attempt: 1, 2, 4 … minutes, ≤ 6 h."""
    return min(timedelta(minutes=2 ** max(attempts - 1, 0)), MAX_RETRY_DELAY)


# Delivering one message is a leased job (app.jobs), retried with growing delays.
DELIVERY = jobs.JobKind(
    name="notification",
    model=Notification,
    task=DELIVER_TASK,
    statuses=jobs.Statuses(
        NotificationStatus.PENDING,
        NotificationStatus.SENDING,
        NotificationStatus.SENT,
        NotificationStatus.FAILED,
    ),
    attempts_setting="mail_attempts",
    lease_setting="mail_lease_seconds",
    requeue_after=RESEND_AFTER,
    retry_backoff=retry_delay,
    give_up_on=(smtplib.SMTPRecipientsRefused,),  # no later attempt would reach them
    describe_error=lambda error: f"{type(error).__name__}: {error}"[:2000],
)


def reconcile_notifications(limit: int = 500) -> list[int]:
    """Wake-ups for pending messages whose rest is over, whose sender died, or whose wake-up
    never came."""
    return jobs.reconcile(DELIVERY, limit)


def _send(notification: Notification) -> None:
    settings = current_app.config["SETTINGS"]
    message = EmailMessage(policy=HEADER_POLICY)
    message["From"] = settings.mail_sender
    message["To"] = notification.to_email
    message["Subject"] = notification.subject
    # A stable id: if a retry re-sends after a lost acknowledgement, mail clients merge the two.
    message["Message-ID"] = make_msgid(idstring=f"n{notification.id}", domain="consulta.local")
    # 8bit keeps links whole on one line (quoted-printable would wrap them with "=").
    message.set_content(notification.body_text, cte="8bit")
    if notification.attachment:
        path = Path(settings.instance_path) / notification.attachment
        if path.is_file():  # a file removed since is left out rather than blocking the message
            message.add_attachment(
                path.read_bytes(),
                maintype="application",
                subtype=ATTACHMENT_TYPES.get(path.suffix, "octet-stream"),
                filename=path.name,
            )
    with smtplib.SMTP(settings.mail_server, settings.mail_port, timeout=15) as smtp:
        if settings.mail_use_tls:
            smtp.starttls()
        if settings.mail_username:
            smtp.login(settings.mail_username, settings.mail_password)
        smtp.send_message(message)
