"""Keyset cursors and the filters that travel with them in page links: what a page writes reads
back as the same place, and anything else a visitor types is a clean refusal (a 400 with the
parameter named), never an exception. (A queue cursor in year 1 at +01:00 was a 500.)"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from werkzeug.exceptions import BadRequest

from app.errors import DomainError
from app.feedback.published import EPOCH, MAX_ID, Cursor, InvalidCursor
from app.models import FeedbackState
from app.models.moderation import FlagKind
from app.models.organization import OrganizationType
from app.moderation.queue import SEARCH_MAX, QueueFilter
from app.moderation.queue_sorting import ORDERS, date_cursor, read_date_cursor
from app.parsing import id_argument, parse_id

ids = st.integers(min_value=0, max_value=MAX_ID)
# What a visitor may type: any text, and text made of the cursors' own pieces.
pieces = st.sampled_from(["_", "-", "+", ":", "T", ".", " ", "0", "9", "١", "²", "\x00", "Z"])
typed = st.one_of(st.text(), st.lists(pieces, max_size=30).map("".join))


@pytest.fixture(autouse=True)
def _translations(babel_app):
    with babel_app.app_context():  # the refusals' messages are translated
        yield


# --- the public list's cursor (published_at in microseconds since 1970, and an id) ---------

published_times = st.datetimes(
    min_value=datetime(1970, 1, 1), max_value=datetime(5000, 1, 1), timezones=st.just(UTC)
)


@given(published_times, ids)
def test_a_public_cursor_reads_back_as_the_place_it_was_written_for(moment, feedback_id):
    cursor = Cursor(moment, feedback_id)
    assert Cursor.parse(str(cursor)) == cursor


@given(typed)
@example("99999999999999999_1")  # the largest time it takes: year 5138, still a datetime
@example("1_2147483648")  # an id past the column's range
@example("١٢_3")  # Arabic-Indic digits are digits to str.isdigit
def test_anything_else_in_a_public_cursor_is_refused_or_a_real_place(text):
    try:
        cursor = Cursor.parse(text)
    except InvalidCursor as refusal:
        assert refusal.field == "after"
        return
    assert cursor.published_at >= EPOCH and 0 <= cursor.id <= MAX_ID
    assert Cursor.parse(str(cursor)) == cursor


# --- the moderation queue's date cursor (ISO time and an id) -------------------------------

zones = st.one_of(
    st.just(UTC),
    st.integers(min_value=-14 * 60, max_value=14 * 60).map(
        lambda minutes: timezone(timedelta(minutes=minutes))
    ),
)
submitted_times = st.datetimes(
    min_value=datetime(2, 1, 1), max_value=datetime(9998, 12, 31), timezones=zones
)
queue_ids = st.integers(min_value=0, max_value=10**18 - 1)


@given(submitted_times, queue_ids)
def test_a_queue_cursor_reads_back_as_the_rows_time_in_utc_and_its_id(moment, feedback_id):
    read = read_date_cursor(date_cursor(moment, feedback_id))
    assert read is not None
    assert read[0].tzinfo is UTC
    assert read[0].timestamp() == moment.timestamp() and read[1] == feedback_id


stamps = st.one_of(
    typed,
    st.datetimes(timezones=st.one_of(st.none(), zones)).map(datetime.isoformat),
    st.dates().map(lambda day: day.isoformat()),
)


@given(stamps, st.one_of(queue_ids.map(str), typed))
@example("0001-01-01T00:00:00+01:00", "1")  # no UTC equivalent: was an OverflowError (a 500)
@example("9999-12-31T23:59:59-01:00", "1")
@example("2026-01-01T00:00:00", "9" * 19)  # past BIGINT
def test_anything_else_in_a_queue_cursor_is_refused_or_a_real_place(stamp, ident):
    read = read_date_cursor(f"{stamp}_{ident}")
    if read is not None:
        moment, feedback_id = read
        assert moment.tzinfo is UTC and 0 <= feedback_id < 10**18
        assert read_date_cursor(date_cursor(moment, feedback_id)) == read


# --- ids in links (column orders of the queue, the users list, the API) --------------------


@given(queue_ids)
def test_an_id_reads_back(number):
    assert parse_id(str(number)) == number


@given(typed)
def test_an_id_argument_is_absent_an_id_or_a_400(text):
    try:
        found = id_argument({"after": text}, "after")
    except BadRequest:
        assert parse_id(text) is None
        return
    assert found == (None if text == "" else int(text))


# --- the queue's filters, carried by every page link with the cursor ------------------------

filters = st.builds(
    QueueFilter,
    state=st.sampled_from([state for state in FeedbackState if state is not FeedbackState.DRAFT]),
    consultation_id=st.none() | queue_ids,
    item_id=st.none() | queue_ids,
    flag=st.none() | st.sampled_from(FlagKind),
    organization_type=st.none() | st.sampled_from(OrganizationType),
    country=st.none() | st.from_regex(r"[A-Z]{2}", fullmatch=True),
    language=st.none() | st.from_regex(r"[a-z]{2}", fullmatch=True),
    verified=st.none() | st.booleans(),
    q=st.text(st.characters(exclude_characters="\x00"), max_size=SEARCH_MAX).map(str.strip),
    order=st.sampled_from(ORDERS),
)
FILTER_NAMES = (
    "state",
    "consultation",
    "item",
    "flag",
    "organization_type",
    "country",
    "language",
    "verified",
    "q",
    "order",
)


@given(filters)
def test_a_queue_filter_survives_its_page_links(filt):
    assert QueueFilter.from_args(filt.to_args()) == filt


@given(st.dictionaries(st.sampled_from(FILTER_NAMES), st.one_of(typed, st.sampled_from(ORDERS))))
@example({"q": "a" * (SEARCH_MAX + 1)})
@example({"q": "\x00"})
def test_typed_queue_filters_are_read_or_refused_naming_the_parameter(args):
    try:
        filt = QueueFilter.from_args(args)
    except DomainError as refusal:
        assert refusal.field in FILTER_NAMES
        assert refusal.status_code == 400
        return
    assert QueueFilter.from_args(filt.to_args()) == filt
