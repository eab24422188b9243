"""The moderation queue: filtered, searchable, keyset-paginated submitted feedback."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime

from flask import current_app, g, has_request_context
from flask_babel import gettext as _
from sqlalchemy import (
    Select,
    and_,
    exists,
    false,
    func,
    literal,
    or_,
    select,
    text,
    tuple_,
    union_all,
)
from sqlalchemy.orm import aliased

from app.accounts.permissions import MODERATORS, acting_user
from app.cache import remembered
from app.errors import DomainError
from app.extensions import db
from app.models import (
    Feedback,
    FeedbackState,
    Item,
    ModerationFlag,
    Organization,
    Role,
)
from app.models.moderation import FlagKind
from app.models.organization import OrganizationType, VerificationState
from app.moderation.queue_labels import item_titles
from app.moderation.queue_sorting import DATE_ORDERS, ORDERS, column_sorted
from app.parsing import parse_id

EXPORTERS = (Role.MODERATOR, Role.ADMIN, Role.COUNCIL)
# Drafts belong to their organisation alone and never reach a moderator.
QUEUE_STATES = tuple(state for state in FeedbackState if state is not FeedbackState.DRAFT)
# A search matching at most this many submissions is answered from the GIN index first.
RARE_MATCHES = 5_000
# Counting stops here: an exact count of a million rows costs a full index scan per filter,
# while "10,000+" tells a moderator all they need and costs at most 10,001 index entries.
COUNT_CAP = 10_000
EXCERPT_LENGTH = 300
SEARCH_MAX = 200
_COUNTRY = re.compile(r"[A-Z]{2}")
_LANGUAGE = re.compile(r"[a-z]{2}")
# Marks a `filtered` query driven from moderation_flags, so `keyset` orders by its copies.
_BY_FLAG = "queue_by_flag"


@dataclass(frozen=True)
class QueueFilter:
    """What a moderator narrowed the queue to; every field is optional but `state`."""

    state: FeedbackState = FeedbackState.SUBMITTED
    consultation_id: int | None = None
    item_id: int | None = None
    flag: FlagKind | None = None
    organization_type: OrganizationType | None = None
    country: str | None = None
    language: str | None = None
    verified: bool | None = None
    q: str = ""
    order: str = "oldest"

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> QueueFilter:
        """Parse query-string arguments strictly: an unknown value is a DomainError (400)."""

        def choice(name: str, allowed: tuple) -> object | None:
            raw = args.get(name, "")
            if raw == "":
                return None
            for value in allowed:
                if raw == str(value):
                    return value
            raise DomainError(_("This filter value is not one of the choices."), field=name)

        def ident(name: str) -> int | None:
            raw = args.get(name, "")
            if raw == "":
                return None
            value = parse_id(raw)
            if value is None:
                raise DomainError(_("This filter value is not one of the choices."), field=name)
            return value

        def pattern(name: str, regex: re.Pattern[str]) -> str | None:
            raw = args.get(name, "")
            if raw == "":
                return None
            if not regex.fullmatch(raw):
                raise DomainError(_("This filter value is not one of the choices."), field=name)
            return raw

        q = args.get("q", "").strip()
        if len(q) > SEARCH_MAX or "\x00" in q:
            raise DomainError(_("The search text is too long."), field="q")
        verified = choice("verified", ("yes", "no"))
        return cls(
            state=choice("state", QUEUE_STATES) or FeedbackState.SUBMITTED,
            consultation_id=ident("consultation"),
            item_id=ident("item"),
            flag=choice("flag", tuple(FlagKind)),
            organization_type=choice("organization_type", tuple(OrganizationType)),
            country=pattern("country", _COUNTRY),
            language=pattern("language", _LANGUAGE),
            verified=None if verified is None else verified == "yes",
            q=q,
            order=choice("order", ORDERS) or "oldest",
        )

    def to_args(self) -> dict[str, str]:
        """The query-string arguments that reproduce this filter (defaults left out)."""
        default = QueueFilter()
        names = {"consultation_id": "consultation", "item_id": "item"}
        args = {}
        for key, value in asdict(self).items():
            if value is None or value == getattr(default, key):
                continue
            if isinstance(value, bool):
                value = "yes" if value else "no"
            args[names.get(key, key)] = str(value)
        return args


@dataclass(frozen=True)
class FlagView:
    kind: str
    detail: str


@dataclass(frozen=True)
class QueueEntry:
    id: int
    reference: str
    lock_version: int
    item_code: str
    item_title: str
    organization: str
    organization_type: str
    country: str
    verified: bool
    stance: str | None
    priority: int | None
    language: str | None
    excerpt: str
    submitted_at: datetime
    flags: list[FlagView] = field(default_factory=list)


@dataclass(frozen=True)
class QueueCounts:
    """Counts capped at COUNT_CAP: `COUNT_CAP + 1` means "more than COUNT_CAP"."""

    by_state: dict[str, int]
    by_flag: dict[str, int]
    cap: int = COUNT_CAP


def authorize(user_id: int, *, export: bool = False) -> None:
    """Refuse (403) anyone who may not read the queue, before any filter is even parsed."""
    acting_user(user_id, *(EXPORTERS if export else MODERATORS))


def filtered(filt: QueueFilter, *columns, state: FeedbackState | None = None) -> Select:  # noqa: ANN002
    """SELECT `columns` FROM feedback with every condition of `filt` (state overridable).

    With a flag kind chosen, the query reads FROM moderation_flags JOIN feedback instead, its
    state and order on the flag's copies of them: a range of ix_moderation_flags_queue in queue
    order, however few submissions of the state carry the flag. `keyset` then orders by the
    copies, which are equal to the originals, so the rows and pages are the same.
    """
    state = state or filt.state
    if filt.flag is None:
        query = select(*columns).select_from(Feedback)
        query = query.where(Feedback.state == state, Feedback.submitted_at.is_not(None))
    else:
        query = (
            select(*columns)
            .select_from(ModerationFlag)
            .where(
                ModerationFlag.kind == filt.flag,
                ModerationFlag.feedback_state == state,
                ModerationFlag.submitted_at.is_not(None),
            )
            .execution_options(**{_BY_FLAG: True})
        )
        # Without a column or condition on feedback (a count by flag), the index is enough.
        if _narrowed_beyond_flag(filt) or Feedback.__table__ in query.get_final_froms():
            query = query.join_from(
                ModerationFlag, Feedback, Feedback.id == ModerationFlag.feedback_id
            )
    if filt.item_id is not None:
        query = query.where(Feedback.item_id == filt.item_id)
    if filt.consultation_id is not None:
        query = query.where(
            Feedback.item_id.in_(
                select(Item.id).where(Item.consultation_id == filt.consultation_id)
            )
        )
    if filt.language is not None:
        query = query.where(Feedback.language == filt.language)
    # An alias, so the EXISTS stays its own query when the caller also joins organizations.
    org = aliased(Organization)
    org_conditions = []
    if filt.organization_type is not None:
        org_conditions.append(org.type == filt.organization_type)
    if filt.country is not None:
        org_conditions.append(org.country == filt.country)
    if filt.verified is True:
        org_conditions.append(org.verification == VerificationState.VERIFIED)
    elif filt.verified is False:
        org_conditions.append(org.verification != VerificationState.VERIFIED)
    if org_conditions:
        query = query.where(exists().where(org.id == Feedback.organization_id, *org_conditions))
    if filt.q:
        rare = _rare_matches(filt.q)
        if rare is not None:
            query = query.where(Feedback.id.in_(rare) if rare else false())
        else:
            query = query.where(_search_condition(filt.q))
    return query


def _rare_matches(q: str) -> list[int] | None:
    """The ids of every submission matching `q` when there are few (PostgreSQL), else None.

    Walking the queue's index in order and testing the search on each row is fast for common
    words but reads the whole index for a rare one (4 s at a million rows); the GIN index finds
    a rare word's few rows at once, and the queue then orders only those. Found once per
    request, however many counts reuse it.
    """
    if db.session.get_bind().dialect.name != "postgresql":
        return None
    cache = g.setdefault("rare_search_matches", {}) if has_request_context() else {}
    if q not in cache:
        ids = list(
            db.session.scalars(
                select(Feedback.id).where(_search_condition(q)).limit(RARE_MATCHES + 1)
            )
        )
        cache[q] = ids if len(ids) <= RARE_MATCHES else None
    return cache[q]


def _narrowed_beyond_flag(filt: QueueFilter) -> bool:
    """Whether `filt` has a condition on feedback besides its state and flag kind."""
    return any(
        getattr(filt, spec.name) != spec.default
        for spec in fields(QueueFilter)
        if spec.name not in ("state", "flag", "order")
    )


def _search_condition(q: str):  # noqa: ANN202
    if db.session.get_bind().dialect.name == "postgresql":
        # Written out as SQL so it is exactly the expression of the GIN index ix_feedback_search
        # (a bound ' ' or 'simple' would be a different expression and the index unused).
        return text(
            "to_tsvector('simple', feedback.comment || ' ' || feedback.amendment)"
            " @@ plainto_tsquery('simple', :q)"
        ).bindparams(q=q)
    patterns = [f"%{_escape_like(word)}%" for word in q.lower().split()]
    return and_(
        *(
            or_(
                func.lower(Feedback.comment).like(pattern, escape="\\"),
                func.lower(Feedback.amendment).like(pattern, escape="\\"),
            )
            for pattern in patterns
        )
    )


def _escape_like(word: str) -> str:
    return word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def keyset(query: Select, after: tuple[datetime, int] | None, order: str) -> Select:
    """Order a `filtered` query by (submitted_at, id) in `order` and start after the cursor."""
    if query.get_execution_options().get(_BY_FLAG):
        submitted_at, feedback_id = ModerationFlag.submitted_at, ModerationFlag.feedback_id
    else:
        submitted_at, feedback_id = Feedback.submitted_at, Feedback.id
    key = tuple_(submitted_at, feedback_id)
    if order == "newest":
        if after is not None:
            query = query.where(key < tuple_(*after))
        return query.order_by(submitted_at.desc(), feedback_id.desc())
    if after is not None:
        query = query.where(key > tuple_(*after))
    return query.order_by(submitted_at, feedback_id)


def flags_of(feedback_ids: list[int]) -> dict[int, list[FlagView]]:
    """The flags of these submissions, in one query."""
    flags: dict[int, list[FlagView]] = {fid: [] for fid in feedback_ids}
    if not feedback_ids:
        return flags
    rows = db.session.execute(
        select(ModerationFlag.feedback_id, ModerationFlag.kind, ModerationFlag.detail)
        .where(ModerationFlag.feedback_id.in_(feedback_ids))
        .order_by(ModerationFlag.feedback_id, ModerationFlag.kind)
    )
    for row in rows:
        flags[row.feedback_id].append(FlagView(kind=str(row.kind.value), detail=row.detail))
    return flags


def page(
    user_id: int,
    filt: QueueFilter,
    after: tuple[datetime, int] | None = None,
    limit: int = 50,
    order: str | None = None,
    after_id: int | None = None,
) -> list[QueueEntry]:
    """One page of the queue, oldest first unless another order: after the keyset cursor
    `after` in a date order, after the row `after_id` in a column order (queue_sorting)."""
    authorize(user_id)
    query = filtered(
        filt,
        Feedback.id,
        Feedback.reference,
        Feedback.lock_version,
        Feedback.stance,
        Feedback.priority,
        Feedback.language,
        func.substr(Feedback.comment, 1, EXCERPT_LENGTH).label("excerpt"),
        Feedback.submitted_at,
        Item.id.label("item_id"),
        Item.code.label("item_code"),
        Organization.name.label("organization"),
        Organization.type.label("organization_type"),
        Organization.country,
        Organization.verification,
    )
    query = query.join(Item, Item.id == Feedback.item_id).join(
        Organization, Organization.id == Feedback.organization_id
    )
    order = order or filt.order
    if order in DATE_ORDERS:
        query = keyset(query, after, order)
    else:
        query = column_sorted(query, order, after_id)
    rows = db.session.execute(query.limit(limit)).all()
    flags = flags_of([row.id for row in rows])
    titles = item_titles({row.item_id for row in rows})
    return [
        QueueEntry(
            id=row.id,
            reference=row.reference,
            lock_version=row.lock_version,
            item_code=row.item_code,
            item_title=titles.get(row.item_id, row.item_code),
            organization=row.organization,
            organization_type=row.organization_type.value,
            country=row.country,
            verified=row.verification is VerificationState.VERIFIED,
            stance=row.stance.value if row.stance else None,
            priority=row.priority,
            language=row.language,
            excerpt=row.excerpt or "",
            submitted_at=row.submitted_at,
            flags=flags[row.id],
        )
        for row in rows
    ]


def counts(user_id: int, filt: QueueFilter) -> QueueCounts:
    """Per state (other filters kept) and per flag kind (whole filter), each capped; reused
    for `queue_counts_seconds` by every moderator who asks for the same filter."""
    authorize(user_id)
    key = "queue-counts:" + "&".join(f"{k}={v}" for k, v in sorted(filt.to_args().items()))
    return remembered(
        key,
        current_app.config["SETTINGS"].queue_counts_seconds,
        lambda: _counted(filt),
        dump=asdict,
        load=lambda data: QueueCounts(**data),
    )


def _counted(filt: QueueFilter) -> QueueCounts:
    parts = []
    row = literal(1).label("row")  # not feedback.id: a count by flag needs no join to feedback
    for state in QUEUE_STATES:
        capped = filtered(filt, row, state=state).limit(COUNT_CAP + 1).subquery()
        parts.append(select(literal(f"state:{state.value}"), func.count()).select_from(capped))
    for kind in FlagKind:
        with_flag = QueueFilter(**{**asdict(filt), "flag": kind})
        capped = filtered(with_flag, row).limit(COUNT_CAP + 1).subquery()
        parts.append(select(literal(f"flag:{kind.value}"), func.count()).select_from(capped))
    by_state: dict[str, int] = {}
    by_flag: dict[str, int] = {}
    for key, number in db.session.execute(union_all(*parts)):
        group, _sep, value = key.partition(":")
        (by_state if group == "state" else by_flag)[value] = number
    return QueueCounts(by_state=by_state, by_flag=by_flag)
