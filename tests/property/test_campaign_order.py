"""Campaign grouping does not depend on the order the texts arrive in: the worker meets them in
id order, so giving the same texts other ids (another arrival order) must give the same groups.
Texts are form letters edited the ways people edit them, and texts of their own."""

from __future__ import annotations

from collections import defaultdict

from hypothesis import given
from hypothesis import strategies as st

from app.analysis.campaigns import group
from tests.helpers.letters import LETTER_A, LETTER_B, OWN_PARAGRAPH, QUOTE, SECOND_PARAGRAPH

LETTERS = (LETTER_A, LETTER_B, f"{LETTER_A} {LETTER_B}")
WORDS = ("please", "urgently", "migrants", "the", "rights", "workers", "now", "Oaxaca")


@st.composite
def edited(draw: st.DrawFn) -> str:
    """A form letter with a few words dropped, replaced or added, and maybe a paragraph of
    one's own: near enough to its letter, or not, as it happens."""
    words = draw(st.sampled_from(LETTERS)).split()
    for _ in range(draw(st.integers(0, 6))):
        place = draw(st.integers(0, len(words) - 1))
        change = draw(st.sampled_from(("drop", "replace", "add")))
        if change == "drop" and len(words) > 1:
            del words[place]
        elif change == "replace":
            words[place] = draw(st.sampled_from(WORDS))
        else:
            words.insert(place, draw(st.sampled_from(WORDS)))
    extra = draw(st.sampled_from(("", OWN_PARAGRAPH, SECOND_PARAGRAPH, QUOTE)))
    return " ".join([*words, extra]).strip()


own_text = st.one_of(
    st.sampled_from((QUOTE, OWN_PARAGRAPH, SECOND_PARAGRAPH, "", "Yes.")),
    st.lists(st.sampled_from(WORDS), max_size=25).map(" ".join),
)
# At most 20 texts: fewer members than MAX_CHECKS, below which a campaign is exactly a
# component of the "same letter" graph.
texts = st.lists(st.one_of(edited(), own_text), max_size=20)


def groups(texts: list[str], ids: list[int]) -> set[frozenset[int]]:
    """The campaigns of `texts` given these ids, as sets of positions in `texts`."""
    found = group(dict(zip(ids, texts, strict=True)))
    position = {text_id: index for index, text_id in enumerate(ids)}
    members: dict[int, set[int]] = defaultdict(set)
    for text_id, key in found.items():
        members[key].add(position[text_id])
    return {frozenset(found) for found in members.values()}


@st.composite
def texts_and_two_arrival_orders(draw: st.DrawFn) -> tuple[list[str], list[int], list[int]]:
    found = draw(texts)
    ids = draw(
        st.lists(st.integers(1, 10_000), unique=True, min_size=len(found), max_size=len(found))
    )
    return found, ids, draw(st.permutations(ids))


@given(texts_and_two_arrival_orders())
def test_campaigns_are_the_same_whatever_order_the_texts_arrive_in(case):
    found, ids, other_ids = case
    assert groups(found, ids) == groups(found, other_ids)


@given(texts_and_two_arrival_orders())
def test_a_campaign_has_two_members_or_more_and_is_keyed_by_its_smallest_id(case):
    found, ids, _other = case
    keys = group(dict(zip(ids, found, strict=True)))
    members: dict[int, list[int]] = defaultdict(list)
    for text_id, key in keys.items():
        members[key].append(text_id)
    for key, ids_in_campaign in members.items():
        assert len(ids_in_campaign) >= 2
        assert key == min(ids_in_campaign)
