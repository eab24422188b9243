"""An extractive summary of the submissions in which every sentence cites who wrote it."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
from scipy import sparse

from app.analysis.sentences import SentenceIndex, SentenceSources, sentence_index
from app.analysis.themes import (
    LANGUAGES,
    DistinctText,
    by_language,
    language_counts,
    sample_order,
    term_vectorizer,
)

SHORTLIST = 300  # the most relevant sentences of a language that selection looks at
RELEVANCE_WEIGHT = 0.7  # MMR's λ: relevance against novelty


def summarise(
    texts: Iterable[Sequence[Any]],
    *,
    themes: Mapping[str, Any] | None = None,
    sentences: int = 6,
    max_texts: int = 5_000,
    min_words: int = 5,
    max_words: int = 50,
    similarity: float = 0.9,
    redundancy: float = 0.5,
    max_ids: int = 100,
) -> dict[str, Any]:
    """Pick `sentences` sentences that say what the submissions say, each citing them.

    `texts` are (text, weight, submission_ids, language) tuples of distinct texts (campaigns
    deduplicated, weight = members); `themes` is an optional `find_themes` result.

    Per language in LANGUAGES, the sentences of `min_words`..`max_words` words of the first
    `max_texts` texts in `sample_order` are the candidates (identical ones merged, their
    support = submissions carrying them). A candidate's relevance is its TF-IDF cosine with
    what the language is about — the support-weighted centroid of all candidates, or, given
    `themes`, the closest of the themes' term lists, scaled by √(theme's share) — times
    1 + log10(support), so a sentence many people sent ranks higher without drowning the
    rest. Sentences are then chosen by MMR (λ = RELEVANCE_WEIGHT), never two with a cosine
    ≥ `redundancy`. Languages share the `sentences` slots in proportion to their submissions
    (largest remainders), each language with candidates getting at least one while slots
    last. Each chosen sentence cites every submission, sampled or not, whose text contains
    it or a sentence with cosine ≥ `similarity`.

    Returns {"method": {...parameters}, "languages": {code: {"texts", "submissions",
    "sampled_texts"}}, "sentences": [{"text", "language", "submission_ids",
    "submission_count", "texts"}]}: "submission_ids" holds the first `max_ids` ids ascending,
    "submission_count" all of them (weights summed), "texts" the distinct texts. Sentences
    come grouped by language (most submissions first), best first within a language.
    """
    groups = {lang: sample_order(e) for lang, e in by_language(texts).items() if lang in LANGUAGES}
    languages = sorted(
        groups, key=lambda lang: (-language_counts(groups[lang])["submissions"], lang)
    )
    indexes = {lang: sentence_index([e.text for e in groups[lang]]) for lang in languages}
    pools = {
        lang: _Candidates(lang, indexes[lang], groups[lang][:max_texts], min_words, max_words)
        for lang in languages
    }
    slots = _allocate(
        sentences,
        {lang: language_counts(groups[lang])["submissions"] for lang in languages if pools[lang]},
    )
    chosen = []
    for lang in languages:
        pool = pools[lang]
        if not slots.get(lang):
            continue
        theme_terms = _theme_terms(themes, lang)
        picks = pool.select(slots[lang], theme_terms, redundancy)
        entries = groups[lang]
        sources = SentenceSources(
            indexes[lang],
            [e.weight for e in entries],
            [e.submission_ids for e in entries],
            pool.vectorizer,
        )
        for sentence, citation in zip(
            picks, sources.cite_all(picks, similarity, max_ids), strict=True
        ):
            chosen.append({"text": sentence, "language": lang, **citation._asdict()})
    return {
        "method": {
            "name": "extractive-tfidf-mmr",
            "sentences": sentences,
            "max_texts": max_texts,
            "words": [min_words, max_words],
            "relevance": "themes" if themes else "centroid",
            "mmr_lambda": RELEVANCE_WEIGHT,
            "redundancy": redundancy,
            "citation_similarity": similarity,
        },
        "languages": {
            lang: {**language_counts(groups[lang]), "sampled_texts": len(pools[lang].sampled)}
            for lang in languages
        },
        "sentences": chosen,
    }


class _Candidates:
    """The candidate sentences of one language's sample, merged by `sentence_key`."""

    def __init__(
        self,
        language: str,
        index: SentenceIndex,
        sampled: list[DistinctText],
        min_words: int,
        max_words: int,
    ) -> None:
        """`sampled` are the first texts of `index` (the language's texts in sample order)."""
        self.sampled = sampled
        support: dict[int, int] = {}  # key id -> submissions
        display: dict[int, str] = {}
        lengths = index.key_lengths
        for i, entry in enumerate(sampled):
            for sentence, key_id in zip(index.sentences(i), index.key_ids(i), strict=True):
                if key_id in support:
                    support[key_id] += entry.weight
                elif min_words <= lengths[key_id] <= max_words:
                    support[key_id] = entry.weight
                    display[key_id] = sentence
        self.sentences = list(display.values())
        self.support = np.array([support[key] for key in display], dtype=np.float64)
        self.vectorizer = term_vectorizer(language, len(self.sentences))
        self.vectors: sparse.csr_matrix | None = None
        if self.sentences:
            analyzer = self.vectorizer.analyzer
            try:
                self.vectors = self.vectorizer.fit_transform(
                    [index.sentence_tokens(key_id, analyzer) for key_id in display]
                )
            except ValueError:  # only stop words
                self.sentences = []

    def __bool__(self) -> bool:
        return bool(self.sentences)

    def select(
        self, count: int, theme_terms: list[tuple[float, str]], redundancy: float
    ) -> list[str]:
        vectors = self.vectors
        boost = 1.0 + np.log10(np.maximum(self.support, 1.0))
        if theme_terms:
            shares = np.array([share for share, _ in theme_terms])
            targets = self.vectorizer.transform([terms for _, terms in theme_terms])
            closeness = (vectors @ targets.T).toarray() * np.sqrt(shares)
            relevance = closeness.max(axis=1) * boost
        else:
            centroid = np.asarray(vectors.T @ boost).ravel()
            centroid /= np.linalg.norm(centroid) or 1.0
            relevance = (vectors @ centroid) * boost
        relevance = np.asarray(relevance, dtype=np.float64).ravel()
        shortlist = np.argsort(-relevance, kind="stable")[:SHORTLIST]
        shortlist = shortlist[relevance[shortlist] > 0]
        if not len(shortlist):
            return []
        scores = relevance[shortlist] / relevance[shortlist[0]]
        mutual = (vectors[shortlist] @ vectors[shortlist].T).toarray()
        picked: list[int] = []
        for _ in range(count):
            if picked:
                overlap = mutual[:, picked].max(axis=1)
                gain = RELEVANCE_WEIGHT * scores - (1 - RELEVANCE_WEIGHT) * overlap
                gain[overlap >= redundancy] = -math.inf
                gain[picked] = -math.inf
            else:
                gain = scores
            best = int(np.argmax(gain))
            if gain[best] == -math.inf:
                break
            picked.append(best)
        return [self.sentences[shortlist[i]] for i in picked]


def _theme_terms(themes: Mapping[str, Any] | None, language: str) -> list[tuple[float, str]]:
    """(share of the language's themed submissions, "term term …") for each theme."""
    found = ((themes or {}).get("languages") or {}).get(language) or {}
    listed = [t for t in found.get("themes", []) if t.get("terms")]
    total = sum(t["size"] for t in listed)
    return [(t["size"] / total, " ".join(t["terms"])) for t in listed] if total else []


def _allocate(slots: int, sizes: dict[str, int]) -> dict[str, int]:
    """`slots` shared by largest remainders in proportion to `sizes`, each at least one
    while there are slots, ties to the larger size and then the code."""
    if slots <= 0 or not sizes:
        return {}
    order = sorted(sizes, key=lambda lang: (-sizes[lang], lang))
    given = {lang: 0 for lang in order}
    for lang in order[:slots]:
        given[lang] = 1
    remaining = slots - sum(given.values())
    total = sum(sizes.values()) or 1
    quotas = {lang: slots * sizes[lang] / total for lang in order}
    for lang in order:
        extra = max(0, math.floor(quotas[lang]) - given[lang])
        extra = min(extra, remaining)
        given[lang] += extra
        remaining -= extra
    by_remainder = sorted(
        order, key=lambda lang: (-(quotas[lang] - math.floor(quotas[lang])), -sizes[lang], lang)
    )
    i = 0
    while remaining > 0:
        given[by_remainder[i % len(by_remainder)]] += 1
        remaining -= 1
        i += 1
    return given
