"""Campaigns are the components of the "same letter" graph: confirmed by similarity, merged
when a text bridges two, the same whatever the order the texts come in."""

from __future__ import annotations

import random
from collections import defaultdict

import pytest

from app.analysis import campaigns
from app.analysis.campaigns import Candidate, group, joined, pieces, same_letter
from app.dev import letters
from tests.helpers.letters import LETTER_A, LETTER_B, OWN_PARAGRAPH, SECOND_PARAGRAPH


def groups_of_texts(texts: dict[int, str]) -> set[frozenset[str]]:
    members: dict[int, set[str]] = defaultdict(set)
    for text_id, key in group(texts).items():
        members[key].add(texts[text_id])
    return {frozenset(found) for found in members.values()}


def test_a_letter_with_a_paragraph_of_ones_own_added_is_the_same_letter():
    longer = f"{LETTER_A}\n\n{OWN_PARAGRAPH} {SECOND_PARAGRAPH}"
    assert letters._jaccard(pieces(LETTER_A), pieces(longer)) < campaigns.JACCARD  # noqa: SLF001
    assert same_letter(pieces(LETTER_A), pieces(longer))


def test_a_short_text_inside_a_long_letter_is_not_a_copy_of_it():
    short = "Open regular pathways for migrant workers."
    assert not same_letter(pieces(short), pieces(LETTER_A))


def test_two_letters_quoting_one_sentence_are_different_letters():
    quote = "Recruitment fees charged to workers should be banned outright."
    assert not same_letter(pieces(f"{LETTER_A} {quote}"), pieces(f"{LETTER_B} {quote}"))


def test_a_candidate_joins_only_when_it_is_the_same_letter():
    texts = {1: pieces(LETTER_A), 2: pieces(LETTER_B)}
    candidates = [Candidate(1, 10, shared_bands=1), Candidate(2, 20, shared_bands=9)]
    assert joined(pieces(LETTER_A + " Thank you."), candidates, texts) == {10}


def test_a_text_bridging_two_campaigns_merges_them_under_the_lowest_key():
    texts = {
        3: LETTER_A,
        5: LETTER_A + " Signed in Oaxaca.",
        4: LETTER_B,
        6: LETTER_B + " Signed in Toronto.",
    }
    assert group(texts) == {3: 3, 5: 3, 4: 4, 6: 4}
    texts[9] = f"{LETTER_A}\n\n{LETTER_B}"  # both letters, sent as one
    assert group(texts) == dict.fromkeys((3, 4, 5, 6, 9), 3)


@pytest.fixture(scope="module")
def corpus() -> list[letters.Text]:
    return letters.corpus(letters=8, members=(3, 25), distinct=150, seed=5)


def test_the_groups_are_the_same_in_every_order(corpus):
    texts = [text.text for text in corpus]
    reference = groups_of_texts(dict(enumerate(texts, start=1)))
    assert len(reference) >= 6
    rng = random.Random(3)
    for _order in range(4):
        rng.shuffle(texts)
        assert groups_of_texts(dict(enumerate(texts, start=1))) == reference


def test_on_a_labelled_corpus_pairs_are_found_with_the_target_precision_and_recall(corpus):
    found = group({text.id: text.text for text in corpus})
    members: dict[int, list[int]] = defaultdict(list)
    for text_id, key in found.items():
        members[key].append(text_id)
        assert key == min(i for i, k in found.items() if k == key)  # the smallest id
    predicted = {(a, b) for ids in members.values() for a in ids for b in ids if a < b}
    truth = letters.pairs(corpus)
    right = len(predicted & truth)
    assert right / len(predicted) >= 0.98
    assert right / len(truth) >= 0.95


def test_the_corpus_spans_the_similarities_it_claims(corpus):
    similarities = [text.similarity for text in corpus if text.label is not None]
    assert min(similarities) >= 0.45 and max(similarities) == 1.0
    assert sum(s < 0.7 for s in similarities) >= 10  # heavily edited members are there
    assert sum(text.label is None for text in corpus) == 150
