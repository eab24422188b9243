"""Hypothesis strategies for the property tests: report rows as app/analysis reads them.

Rows are drawn the way the database can hold them: one position per organisation and item;
each organisation keeps one name, type, country and verification across its rows, while each
row may be anonymous (no name: the public version), of any stance or none, in any time zone;
a campaign's members are all on one item (app.moderation.flagging's contract).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from hypothesis import strategies as st

from app.analysis.records import Submission
from app.analysis.tally import PRIORITIES, STANCES

# id: (name, type, country, verified); "international" works across countries (XX) or gave none
ORGANISATIONS = {
    1: ("Alpha", "ngo", "MX", True),
    2: ("Beta", "academic", "GT", False),
    3: ("Gamma", "workers", "US", True),
    4: ("Delta", "workers", "US", False),
    5: ("Epsilon", "international", "XX", True),
    6: ("Zeta", "faith_based", None, False),
    7: ("Eta", "ngo", "GT", True),
    8: ("Theta", "academic", "MX", True),
}
ITEMS = ("A1", "A2", "B1", "B2")
POPULATIONS = ("refugees", "labour_migrants", "asylum_seekers")
LANGUAGES = ("en", "es", "fr", "und")
COUNTRIES = ("MX", "GT", "US")
CAMPAIGNS = 2  # per item
TEXTS = ("", "Open regular pathways.", "Ban recruitment fees.", "Abrir vías regulares.")

zones = st.sampled_from(
    [None, UTC, timezone(timedelta(hours=-6)), timezone(timedelta(hours=5, minutes=30))]
)
# A fortnight, so that days repeat and the timeline has gaps.
moments = st.datetimes(
    min_value=datetime(2025, 3, 1), max_value=datetime(2025, 3, 14), timezones=zones
)


@st.composite
def submission(draw: st.DrawFn, submission_id: int, organisation_id: int, item: str) -> Submission:
    name, kind, country, verified = ORGANISATIONS[organisation_id]
    campaign = draw(st.none() | st.integers(1, CAMPAIGNS))
    return Submission(
        id=submission_id,
        reference=f"R-{submission_id}",
        item_code=item,
        organization_id=organisation_id,
        organization_name=draw(st.sampled_from((name, ""))),
        organization_type=kind,
        country=country,
        verified=verified,
        stance=draw(st.sampled_from((*STANCES, None))),
        priority=draw(st.sampled_from((*PRIORITIES, None))),
        populations=tuple(draw(st.lists(st.sampled_from(POPULATIONS), unique=True, max_size=3))),
        language=draw(st.sampled_from((*LANGUAGES, None))),
        comment=draw(st.sampled_from(TEXTS)),
        amendment=draw(st.sampled_from(TEXTS)),
        submitted_at=draw(moments),
        campaign_key=None if campaign is None else f"{item}-{campaign}",
        cosigners=tuple(
            draw(st.lists(st.sampled_from(sorted(ORGANISATIONS)), unique=True, max_size=2))
        ),
        countries=tuple(draw(st.lists(st.sampled_from(COUNTRIES), unique=True, max_size=2))),
    )


@st.composite
def submissions(draw: st.DrawFn) -> list[Submission]:
    """Rows with distinct ids, at most one per organisation and item, in no particular order."""
    pairs = draw(
        st.lists(
            st.tuples(st.sampled_from(sorted(ORGANISATIONS)), st.sampled_from(ITEMS)), unique=True
        )
    )
    ids = draw(st.lists(st.integers(1, 500), unique=True, min_size=len(pairs), max_size=len(pairs)))
    return [
        draw(submission(submission_id, organisation_id, item))
        for submission_id, (organisation_id, item) in zip(ids, pairs, strict=True)
    ]


@st.composite
def split(draw: st.DrawFn, rows: list, max_parts: int = 4) -> list[list]:
    """`rows` dealt into 1..max_parts parts any way (parts may be empty), as a report's
    workers read them: by item, by id range, or otherwise."""
    parts = draw(st.integers(1, max_parts))
    dealt: list[list] = [[] for _ in range(parts)]
    for row in rows:
        dealt[draw(st.integers(0, parts - 1))].append(row)
    return dealt
