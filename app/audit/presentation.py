"""The audit log in words: what happened, to what (a submission by its reference), and each
value that changed as "State: Submitted → Published", never a raw id or JSON."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.audit.log import AuditLine
from app.extensions import db
from app.models import Feedback, Organization, Redaction
from app.moderation.services import rejection_reason_label
from app.vocabulary import (
    feedback_field_label,
    language_name,
    state_label,
    verification_label,
)

ACTIONS = {
    "feedback.submit": _l("Submission sent"),
    "feedback.save_draft": _l("Draft saved"),
    "feedback.edit": _l("Submission edited"),
    "feedback.published": _l("Submission published"),
    "feedback.rejected": _l("Submission rejected"),
    "feedback.changes_requested": _l("Changes requested"),
    "feedback.withdraw": _l("Submission withdrawn"),
    "feedback.note": _l("Internal note added"),
    "feedback.redact": _l("Words redacted"),
    "feedback.redaction_revert": _l("Redaction reverted"),
    "feedback.late_submission_kept": _l("Late submission kept"),
    "moderation.export": _l("Moderation queue exported"),
    "audit.export": _l("Audit log exported"),
    "organization.verify": _l("Organisation verified"),
    "organization.reject": _l("Organisation rejected"),
    "organization.suspend": _l("Organisation suspended"),
    "organization.unsuspend": _l("Organisation's suspension lifted"),
    "consultation.create": _l("Consultation created"),
    "consultation.seed": _l("Consultation loaded"),
    "consultation.update": _l("Consultation changed"),
    "item.create": _l("Item created"),
    "item.update": _l("Item changed"),
    "item.new_version": _l("New version of an item"),
    "attachment.add": _l("File attached"),
    "attachment.remove": _l("File removed"),
    "report.request": _l("Report requested"),
    "report.publish": _l("Report published"),
    "report.retract": _l("Report withdrawn"),
    "user.login": _l("Signed in"),
    "user.create": _l("Account created"),
}
TARGETS = {
    "feedback": _l("Submission"),
    "organization": _l("Organisation"),
    "consultation": _l("Consultation"),
    "item": _l("Item"),
    "attachment": _l("File"),
    "report": _l("Report"),
    "user": _l("Account"),
    "bulk_action": _l("Bulk decision"),
    "invitation": _l("Invitation"),
    "council_response": _l("Council response"),
    "audit_event": _l("Audit log"),
}
FIELDS = {
    "state": _l("State"),
    "lock_version": _l("Version read"),
    "code": _l("Reason"),
    "reason": _l("Reason given"),
    "note": _l("Note"),
    "field": _l("Field"),
    "redacted": _l("Redacted"),
    "words": _l("Words"),
    "verification": _l("Verification"),
    "role": _l("Role"),
    "active": _l("Active"),
    "locale": _l("Language"),
    "name": _l("Name"),
    "version": _l("Version"),
    "kind": _l("Kind"),
    "done": _l("Done"),
    "scope": _l("Scope"),
    "published_at": _l("Published"),
    "suspended_at": _l("Suspended"),
    "batch": _l("In a batch"),
}
GROUPS = {
    "feedback.": _l("Anything done to submissions"),
    "organization.": _l("Anything done to organisations"),
    "consultation.": _l("Anything done to consultations"),
    "item.": _l("Anything done to items"),
    "report.": _l("Anything done to reports"),
    "user.": _l("Anything done to accounts"),
}
# the words replace a redaction's id and offsets; the version read is a technical counter
HIDDEN = {"redaction", "start", "end", "lock_version"}


@dataclass(frozen=True)
class Change:
    label: str
    before: str | None
    after: str | None


@dataclass(frozen=True)
class ReadableLine:
    line: AuditLine
    action: str
    target_kind: str
    target: str | None  # a submission's reference, an organisation's name, or the number
    target_link: tuple[str, dict] | None  # (endpoint, values) of its page, when it has one
    changes: list[Change]


def readable(lines: list[AuditLine]) -> list[ReadableLine]:
    """The lines in words, with two queries for a page's references, names and words."""
    references = _names(lines, "feedback", Feedback.reference)
    organisations = _names(lines, "organization", Organization.name)
    words = _redacted_words(lines)
    result = []
    for line in lines:
        target, link = None, None
        if line.target_id is not None:
            if line.target_type == "feedback":
                target = references.get(line.target_id)
                link = ("moderation.show", {"feedback_id": line.target_id})
            elif line.target_type == "organization":
                target = organisations.get(line.target_id)
                link = ("moderation_organizations.detail", {"organization_id": line.target_id})
            target = target or _("number %(id)s", id=line.target_id)
        result.append(
            ReadableLine(
                line=line,
                action=action_label(line.action),
                target_kind=str(TARGETS.get(line.target_type, _humane(line.target_type))),
                target=target,
                target_link=link,
                changes=changes(line, words),
            )
        )
    return result


def action_choices() -> list[tuple[str, str]]:
    """(prefix, label) of the "what happened" filter: groups first, then each action."""
    groups = [(prefix, str(label)) for prefix, label in GROUPS.items()]
    return groups + sorted(
        ((action, str(label)) for action, label in ACTIONS.items()), key=lambda pair: pair[1]
    )


def target_kinds() -> dict[str, str]:
    return {kind: str(label) for kind, label in TARGETS.items()}


def action_label(action: str) -> str:
    if action in ACTIONS:
        return str(ACTIONS[action])
    return _humane(action.replace(".", ": "))


def changes(line: AuditLine, words: dict[int, str] | None = None) -> list[Change]:
    """Each value of the event's before and after, labelled, in words."""
    before, after = dict(line.before or {}), dict(line.after or {})
    for values in (before, after):
        redaction = values.get("redaction")
        if redaction is not None and words and int(str(redaction)) in words:
            values["words"] = words[int(str(redaction))]
    keys = [key for key in (*before, *after) if key not in HIDDEN]
    result, seen = [], set()
    for key in keys:
        if key in seen:
            continue
        seen.add(key)
        old = _value(key, before[key]) if key in before else None
        new = _value(key, after[key]) if key in after else None
        if before.get(key) in (None, "") and after.get(key) in (None, ""):
            continue  # empty before and after: nothing to tell
        if key in before and key in after and old == new:
            result.append(Change(_field(key), None, new))  # unchanged: said once
        else:
            result.append(Change(_field(key), old, new))
    return result


def _field(key: str) -> str:
    return str(FIELDS[key]) if key in FIELDS else _humane(key)


def _value(key: str, value: object) -> str:
    """A stored value (kept as text) in words."""
    if value is None or value == "":
        return _("none")
    text = str(value)
    plain = text.rpartition(".")[2] if text.isupper() or "." in text[:30] else text
    readers: dict[str, Callable[[str], str]] = {
        "state": state_label,
        "field": feedback_field_label,
        "verification": verification_label,
        "locale": language_name,
    }
    if key in readers:
        return readers[key](plain.lower() if key != "field" else plain)
    if text in ("True", "False"):
        return _("Yes") if text == "True" else _("No")
    if key == "code":
        return rejection_reason_label(text)
    return text


def _humane(code: str) -> str:
    words = code.replace("_", " ").strip()
    return words[:1].upper() + words[1:]


def _names(lines: list[AuditLine], kind: str, column) -> dict[int, str]:  # noqa: ANN001
    ids = {line.target_id for line in lines if line.target_type == kind and line.target_id}
    if not ids:
        return {}
    model = column.class_
    return dict(db.session.execute(select(model.id, column).where(model.id.in_(ids))).all())


def _redacted_words(lines: list[AuditLine]) -> dict[int, str]:
    """The words each redaction of these events hides: moderators and the council read them."""
    ids = set()
    for line in lines:
        for values in (line.before or {}, line.after or {}):
            raw = values.get("redaction")
            if raw is not None and str(raw).isdigit():
                ids.add(int(str(raw)))
    if not ids:
        return {}
    rows = db.session.execute(
        select(Redaction.id, Redaction.field, Redaction.start, Redaction.end, Feedback)
        .join(Feedback, Feedback.id == Redaction.feedback_id)
        .where(Redaction.id.in_(ids))
    )
    return {row.id: (getattr(row.Feedback, row.field) or "")[row.start : row.end] for row in rows}


def feedback_id(reference: str) -> int:
    """The id of the submission with this reference (case ignored); 0 matches no event."""
    found = db.session.scalar(
        select(Feedback.id).where(Feedback.reference == reference.strip().upper())
    )
    return found or 0
