"""Themes per language: TF-IDF terms factorised by NMF, with sizes and cited quotes.

The caller deduplicates campaigns first and passes each distinct text once, with its weight
(how many submissions carry it) and the ids of those submissions. Themes are fitted on the
distinct texts unweighted, so a campaign of 10,000 identical letters is one voice in finding
the themes (it cannot drown the others) but counts 10,000 in the size of its theme.
"""

from __future__ import annotations

import hashlib
import math
import re
import warnings
from collections import Counter
from collections.abc import Iterable, Sequence
from functools import cache
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
from scipy import sparse
from sklearn.decomposition import NMF
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_extraction.text import TfidfVectorizer

from app.analysis.sentences import (
    SentenceIndex,
    SentenceSources,
    TermAnalyzer,
    fold,
    lowest_ids,
    sentence_index,
)

STOPWORDS_DIR = Path(__file__).resolve().parent.parent / "content" / "stopwords"
LANGUAGES = ("en", "es", "fr")  # those with a stop-word list; other texts are only counted
UNDETERMINED = "und"  # ISO 639-2 for "no language detected"
WORD_PATTERN = r"(?u)\b[^\W\d_]{2,}\b"  # words of two letters or more, no digits
MAX_FEATURES = 5_000  # the most frequent terms; rarer ones never lead a theme
RANDOM_STATE = 0
NMF_MAX_ITER = 150
NMF_TOL = 1e-3  # topic terms settle long before the loss does
QUOTE_POOL = 40  # the texts most typical of a theme that quotes are drawn from
QUOTE_REDUNDANCY = 0.5  # a quote this similar to one already chosen adds nothing
QUOTE_MAX_WORDS = 60
_WORD = re.compile(r"[^\W\d_]+")


class DistinctText(NamedTuple):
    """One distinct text: a campaign's representative text, or a text of its own."""

    text: str
    weight: int  # the submissions that carry it (a campaign's member count)
    submission_ids: Sequence[int]
    language: str | None


@cache
def stop_words(language: str) -> frozenset[str]:
    """The folded stop words of `language` (app/content/stopwords/<language>.txt)."""
    lines = (STOPWORDS_DIR / f"{language}.txt").read_text(encoding="utf-8").splitlines()
    return frozenset(fold(line.strip()) for line in lines if line.strip() and line[0] != "#")


def term_vectorizer(language: str, documents: int) -> TfidfVectorizer:
    """TF-IDF over folded words less `language`'s stop words.

    From 20 documents on, a term must occur in two of them (typos and names drop out) and
    terms in more than 90 % of them are dropped (they tell no theme apart); tiny corpora keep
    every term so that one or two texts still have some. Documents are texts, or the
    `Tokens` a `SentenceIndex` already made of them (the same terms, without a second
    analysis).
    """
    small = documents < 20
    return TfidfVectorizer(
        analyzer=term_analyzer(language),
        min_df=1 if small else 2,
        max_df=1.0 if small else 0.9,
        max_features=MAX_FEATURES,
        sublinear_tf=True,
        dtype=np.float32,
    )


@cache
def term_analyzer(language: str) -> TermAnalyzer:
    """WORD_PATTERN over the folded text, less `language`'s stop words."""
    return TermAnalyzer(WORD_PATTERN, stop_words(language))


def theme_count(texts: int, max_themes: int = 8) -> int:
    """How many themes to look for among `texts` distinct texts: ⌊√(texts / 2)⌋, the usual
    rule of thumb for clusters, between 1 and `max_themes` (8 texts → 2, 32 → 4, 128+ → 8)."""
    if texts == 0:
        return 0
    return max(1, min(max_themes, math.isqrt(texts // 2)))


def by_language(texts: Iterable[Sequence[Any]]) -> dict[str, list[DistinctText]]:
    """The texts grouped by language code (UNDETERMINED for None), empty texts dropped."""
    groups: dict[str, list[DistinctText]] = {}
    for text, weight, ids, language in texts:
        if text and text.strip():
            entry = DistinctText(text, int(weight), ids, language)
            groups.setdefault(language or UNDETERMINED, []).append(entry)
    return groups


def sample_order(entries: list[DistinctText]) -> list[DistinctText]:
    """The entries in the order they are sampled: heaviest first, then by a hash of the text
    (a fixed pseudo-random order, so that a sample is not all early or all late submissions,
    and the input order never matters)."""
    return sorted(entries, key=lambda e: (-e.weight, _digest(e.text), min(e.submission_ids or [0])))


def _digest(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest()


def language_counts(entries: list[DistinctText]) -> dict[str, int]:
    return {"texts": len(entries), "submissions": sum(e.weight for e in entries)}


def find_themes(
    texts: Iterable[Sequence[Any]],
    *,
    max_themes: int = 8,
    max_texts: int = 20_000,
    top_terms: int = 8,
    quotes: int = 3,
    min_quote_words: int = 5,
    quote_similarity: float = 0.9,
    max_ids: int = 100,
    id_prefix: str = "theme",
) -> dict[str, Any]:
    """Themes per language over distinct texts given as (text, weight, submission_ids,
    language) tuples.

    In each of LANGUAGES the first `max_texts` texts of `sample_order` are fitted (TF-IDF,
    then NMF with `theme_count` components, nndsvda start, fixed random_state); every text of
    the language, sampled or not, is then assigned to its strongest component. Components
    that no text is assigned to are dropped. Quotes are sentences of at least
    `min_quote_words` words from the theme's most typical texts, closest to the theme's term
    profile, no two alike; each cites every submission whose text carries the sentence or
    one with TF-IDF cosine ≥ `quote_similarity`.

    Returns {"method": {...parameters}, "languages": {code: language result},
    "other_languages": {code: {"texts", "submissions"}}}; a language result is
    {"texts", "submissions", "sampled_texts", "unassigned_texts", "unassigned_submissions",
    "themes": [theme]}, and a theme is {"id", "language", "terms", "size", "texts",
    "submission_ids", "quotes": [{"text", "submission_ids", "submission_count", "texts"}]}
    with "size" the submissions (weights summed) and "submission_ids" the first `max_ids`
    ids ascending. Themes are ordered by size, largest first; ids are "<prefix>-<lang>-<n>".
    """
    groups = by_language(texts)
    result: dict[str, Any] = {
        "method": {
            "name": "tfidf-nmf",
            "theme_count": "floor(sqrt(sampled_texts / 2)), 1..max_themes",
            "max_themes": max_themes,
            "max_texts": max_texts,
            "sample": "heaviest texts first, then a fixed hash order",
            "top_terms": top_terms,
            "nmf_init": "nndsvda",
            "nmf_max_iter": NMF_MAX_ITER,
            "nmf_tol": NMF_TOL,
            "random_state": RANDOM_STATE,
            "quote_similarity": quote_similarity,
            "stop_words": "app/content/stopwords",
        },
        "languages": {},
        "other_languages": {},
    }
    for language in sorted(groups):
        entries = groups[language]
        if language not in LANGUAGES:
            result["other_languages"][language] = language_counts(entries)
            continue
        result["languages"][language] = _language_themes(
            language,
            sample_order(entries),
            max_themes=max_themes,
            max_texts=max_texts,
            top_terms=top_terms,
            quotes=quotes,
            min_quote_words=min_quote_words,
            quote_similarity=quote_similarity,
            max_ids=max_ids,
            id_prefix=id_prefix,
        )
    return result


def group_amendments(texts: Iterable[Sequence[Any]], **options: Any) -> dict[str, Any]:
    """Proposed amendments grouped by theme: `find_themes` over the amendment texts (same
    tuples, same result shape), with ids "amendment-<lang>-<n>" and quotes from three words
    up, since amendments are often a single short sentence."""
    options.setdefault("id_prefix", "amendment")
    options.setdefault("min_quote_words", 3)
    return find_themes(texts, **options)


def _language_themes(
    language: str,
    entries: list[DistinctText],
    *,
    max_themes: int,
    max_texts: int,
    top_terms: int,
    quotes: int,
    min_quote_words: int,
    quote_similarity: float,
    max_ids: int,
    id_prefix: str,
) -> dict[str, Any]:
    sample = entries[:max_texts]
    outcome: dict[str, Any] = {
        **language_counts(entries),
        "sampled_texts": len(sample),
        "unassigned_texts": len(entries),
        "unassigned_submissions": sum(e.weight for e in entries),
        "themes": [],
    }
    index = sentence_index([e.text for e in entries])
    vectorizer = term_vectorizer(language, len(sample))
    analyzer = vectorizer.analyzer
    try:
        fitted = vectorizer.fit_transform([index.tokens(i, analyzer) for i in range(len(sample))])
    except ValueError:  # no text has a word that is not a stop word
        return outcome
    components = min(theme_count(len(sample), max_themes), fitted.shape[1])
    model = NMF(
        n_components=components,
        init="nndsvda",
        random_state=RANDOM_STATE,
        max_iter=NMF_MAX_ITER,
        tol=NMF_TOL,
    )
    # A corpus of a text or two fits exactly: the reconstruction error then rounds to a tiny
    # negative number under the square root, which only affects scikit-learn's diagnostics.
    with warnings.catch_warnings(), np.errstate(invalid="ignore"):
        warnings.simplefilter("ignore", ConvergenceWarning)
        weights = model.fit_transform(fitted)
        rest = entries[max_texts:]
        if rest:
            weights = np.vstack(
                [
                    weights,
                    model.transform(
                        vectorizer.transform(
                            [index.tokens(i, analyzer) for i in range(len(sample), len(entries))]
                        )
                    ),
                ]
            )
    strongest = weights.argmax(axis=1)
    assigned = weights.max(axis=1) > 0
    terms = vectorizer.get_feature_names_out()
    vectors = index.vectors(vectorizer)
    themes = []
    for component in range(components):
        members = np.flatnonzero(assigned & (strongest == component))
        if not len(members):
            continue
        profile = model.components_[component]
        order = np.argsort(-profile, kind="stable")[:top_terms]
        typical = members[np.argsort(-weights[members, component], kind="stable")]
        typical = typical[typical < len(sample)][:QUOTE_POOL]
        themes.append(
            {
                "language": language,
                "terms": _surface_forms(
                    [str(terms[i]) for i in order if profile[i] > 0],
                    [entries[i].text for i in typical],
                ),
                "size": sum(entries[i].weight for i in members),
                "texts": len(members),
                "submission_ids": lowest_ids((entries[i].submission_ids for i in members), max_ids),
                "quotes": _quotes(
                    index, typical.tolist(), vectors, profile, quotes, min_quote_words
                ),
            }
        )
    # Every quote of the language is cited in one pass over its sentences.
    sources = SentenceSources(
        index, [e.weight for e in entries], [e.submission_ids for e in entries], vectorizer
    )
    quoted = [quote for theme in themes for quote in theme["quotes"]]
    citations = iter(sources.cite_all(quoted, quote_similarity, max_ids))
    for theme in themes:
        theme["quotes"] = [{"text": q, **next(citations)._asdict()} for q in theme["quotes"]]
    themes.sort(key=lambda theme: (-theme["size"], -theme["texts"], theme["terms"]))
    for rank, theme in enumerate(themes, start=1):
        theme["id"] = f"{id_prefix}-{language}-{rank}"
    outcome["themes"] = [{"id": theme.pop("id"), **theme} for theme in themes]
    outcome["unassigned_texts"] = int(len(entries) - assigned.sum())
    outcome["unassigned_submissions"] = sum(
        e.weight for e, is_assigned in zip(entries, assigned, strict=True) if not is_assigned
    )
    return outcome


def _quotes(
    index: SentenceIndex,
    texts: list[int],
    vectors: sparse.csr_matrix,
    profile: np.ndarray,
    count: int,
    min_words: int,
) -> list[str]:
    """Up to `count` sentences of `texts` (numbers in `index`) closest to a theme's term
    profile, no two alike; shorter sentences are used only when no text has one of
    `min_words` words. `vectors` are the index's key vectors under the theme vectorizer."""
    candidates: dict[int, str] = {}  # key id -> the sentence first seen with that key
    lengths = index.key_lengths
    for text in texts:
        for sentence, key_id in zip(index.sentences(text), index.key_ids(text), strict=True):
            if 0 < lengths[key_id] <= QUOTE_MAX_WORDS and key_id not in candidates:
                candidates[key_id] = sentence
    long_enough = {k: s for k, s in candidates.items() if lengths[k] >= min_words}
    chosen_from = long_enough or candidates
    sentences = list(chosen_from.values())
    if not sentences or count <= 0:
        return []
    vectors = vectors[list(chosen_from)]
    direction = profile / (np.linalg.norm(profile) or 1.0)
    closeness = vectors @ direction.astype(np.float32)
    chosen: list[int] = []
    for i in np.argsort(-closeness, kind="stable"):
        if closeness[i] <= 0 or len(chosen) == count:
            break
        if chosen and _max_similarity(vectors, i, chosen) >= QUOTE_REDUNDANCY:
            continue
        chosen.append(int(i))
    return [sentences[i] for i in chosen]


def _surface_forms(terms: list[str], texts: list[str]) -> list[str]:
    """Each folded term as the texts most often spell it in lower case ("reunificacion" →
    "reunificación"), so that the report shows words, not keys."""
    wanted = set(terms)
    spellings: dict[str, Counter[str]] = {term: Counter() for term in terms}
    folded: dict[str, str] = {}
    for text in texts:
        for word in _WORD.findall(text.lower()):
            key = folded.get(word)
            if key is None:
                key = folded[word] = fold(word)
            if key in wanted:
                spellings[key][word] += 1
    return [min(c, key=lambda w: (-c[w], w)) if (c := spellings[t]) else t for t in terms]


def _max_similarity(vectors: sparse.csr_matrix, i: int, others: list[int]) -> float:
    return float((vectors[others] @ vectors[i].T).toarray().max())
