"""A labelled corpus of form letters and distinct comments on one subject, to tune and check
campaign grouping (bench/campaign_bench.py, tests of app/analysis/campaigns.py).

Letters are written from the synthetic sentence banks (app/content/synthetic), as
`generate-feedback` writes its campaigns; different letters of one language often share a
sentence or two, as real form letters on one subject quote the same pledge. Each member of a
letter is the letter edited as people edit a form letter before sending it (a greeting, a
signature, words changed, a sentence dropped or moved, a paragraph of their own added, typos),
kept when its shingle Jaccard similarity to the letter is within `similarity`. Distinct
comments are written from the same banks in an organisation's own voice, and kept when no more
than a third of their shingles appear in any letter or in another distinct comment.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from dataclasses import dataclass

from app.analysis.near_duplicates import shingles
from app.dev.synthetic_feedback import LANGUAGES, _bank, _campaign, _individual_text

SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
MAX_SHARED_WITH_OTHERS = 1 / 3  # of a distinct comment's shingles, found in any other text


@dataclass(frozen=True)
class Text:
    id: int
    text: str
    label: str | None  # the letter's name; None for a distinct comment
    language: str
    similarity: float  # Jaccard similarity to its letter (1.0 for the letter, 0.0 if none)


def corpus(
    letters: int = 24,
    members: tuple[int, int] = (3, 40),
    distinct: int = 600,
    similarity: tuple[float, float] = (0.45, 1.0),
    seed: int = 1,
) -> list[Text]:
    """`letters` form letters (in turn en, es, fr), each sent as is once and by a random number
    of edited members, and `distinct` comments on the same subject; shuffled, ids from 1."""
    rng = random.Random(seed)  # noqa: S311 - reproducible test data, not secrets
    low, high = similarity
    texts: list[tuple[str, str | None, str, float]] = []
    templates: list[frozenset[str]] = []
    for number in range(letters):
        language = LANGUAGES[number % len(LANGUAGES)]
        bank = _bank(language)
        letter = _distinct_letter(bank, rng, templates)
        templates.append(frozenset(shingles(letter.text)))
        name = f"letter-{number + 1}-{language}"
        texts.append((letter.text, name, language, 1.0))
        for _member in range(rng.randint(*members)):
            edited, score = _member_text(letter.text, bank, rng, low, high)
            texts.append((edited, name, language, score))
    accepted: list[frozenset[str]] = []
    while len(accepted) < distinct:
        language = rng.choices(LANGUAGES, (0.6, 0.3, 0.1))[0]
        comment = _individual_text(_bank(language), rng)
        pieces = frozenset(shingles(comment))
        if len(pieces) < 12 or _shares_too_much(pieces, templates + accepted):
            continue
        accepted.append(pieces)
        texts.append((comment, None, language, 0.0))
    rng.shuffle(texts)
    return [Text(number, *entry) for number, entry in enumerate(texts, start=1)]


def pairs(texts: list[Text]) -> set[tuple[int, int]]:
    """The pairs (smaller id first) that belong to one letter: the truth to score against."""
    by_label: dict[str, list[int]] = {}
    for text in texts:
        if text.label is not None:
            by_label.setdefault(text.label, []).append(text.id)
    return {(a, b) for ids in by_label.values() for a in sorted(ids) for b in sorted(ids) if a < b}


def _distinct_letter(bank, rng: random.Random, templates: list[frozenset[str]]):  # noqa: ANN001, ANN202 - the generator's private types
    """A letter sharing less than a quarter of its shingles with each earlier letter (they may
    share a sentence, not a text)."""
    while True:
        letter = _campaign(bank, rng)
        pieces = frozenset(shingles(letter.text))
        if all(_jaccard(pieces, other) < 0.25 for other in templates):
            return letter


def _member_text(
    letter: str,
    bank,
    rng: random.Random,
    low: float,
    high: float,  # noqa: ANN001 - _Bank
) -> tuple[str, float]:
    template = frozenset(shingles(letter))
    while True:
        text = letter
        for _edit in range(rng.choice((0, 1, 2, 3, 4, 5, 6))):
            text = rng.choice(EDITS)(text, bank, rng)
        score = _jaccard(frozenset(shingles(text)), template)
        if low <= score <= high and shingles(text):
            return text, round(score, 3)


def _greeting(text: str, bank, rng: random.Random) -> str:  # noqa: ANN001 - _Bank
    return f"{rng.choice(bank.greetings)}\n\n{text}"


def _signature(text: str, bank, rng: random.Random) -> str:  # noqa: ANN001
    name = {"name": rng.choice(bank.names), "place": rng.choice(bank.places)}
    return f"{text}\n\n{rng.choice(bank.signatures).format_map(name)}"


def _swap_words(text: str, bank, rng: random.Random) -> str:  # noqa: ANN001
    for word, replacement in rng.sample(bank.swaps, min(3, len(bank.swaps))):
        text = re.sub(rf"\b{re.escape(word)}\b", replacement, text, count=1)
    return text


def _drop_sentence(text: str, _bank, rng: random.Random) -> str:  # noqa: ANN001
    sentences = SENTENCE_END.split(text)
    if len(sentences) > 3:
        del sentences[rng.randrange(len(sentences))]
    return " ".join(sentences)


def _move_sentence(text: str, _bank, rng: random.Random) -> str:  # noqa: ANN001
    sentences = SENTENCE_END.split(text)
    if len(sentences) > 2:
        moved = sentences.pop(rng.randrange(len(sentences)))
        sentences.insert(rng.randrange(len(sentences) + 1), moved)
    return " ".join(sentences)


def _own_paragraph(text: str, bank, rng: random.Random) -> str:  # noqa: ANN001
    own = " ".join(
        sentence.format_map(bank.slots(rng))
        for sentence in rng.sample(bank.openings + bank.closings, rng.randint(1, 3))
    )
    return f"{own}\n\n{text}" if rng.random() < 0.5 else f"{text}\n\n{own}"


def _typos(text: str, _bank, rng: random.Random) -> str:  # noqa: ANN001
    words = text.split(" ")
    for _typo in range(rng.randint(1, 4)):
        index = rng.randrange(len(words))
        word = words[index]
        if len(word) > 4:
            cut = rng.randrange(1, len(word) - 2)
            words[index] = word[:cut] + word[cut + 1] + word[cut] + word[cut + 2 :]
    return " ".join(words)


EDITS: tuple[Callable[[str, object, random.Random], str], ...] = (
    _greeting,
    _signature,
    _swap_words,
    _drop_sentence,
    _move_sentence,
    _own_paragraph,
    _typos,
)


def _jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / len(a | b) if a or b else 1.0


def _shares_too_much(pieces: frozenset[str], others: list[frozenset[str]]) -> bool:
    return any(len(pieces & other) > MAX_SHARED_WITH_OTHERS * len(pieces) for other in others)
