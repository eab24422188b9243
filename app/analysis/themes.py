"""Themes per language: TF-IDF terms factorised by NMF, with sizes, shares and cited quotes.

The caller deduplicates campaigns first and passes each distinct text once, with its weight
(how many submissions carry it) and the ids of those submissions. Themes are fitted on the
distinct texts unweighted, so a campaign of 10,000 identical letters is one voice in finding
the themes (it cannot drown the others) but counts 10,000 in the size of its theme.

Every text is cleaned first (app/analysis/cleaning.py) and ends in exactly one theme or in
"other": texts with no words left, in no recognised language, in a language with too few
texts, or that share no term with any theme. Themes of different languages that say the same
thing are put in one group (app/analysis/theme_groups.py); the group is what the report and
the CSV call a theme.
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

from app.analysis.cleaning import clean_text, links
from app.analysis.sentences import (
    SentenceIndex,
    SentenceSources,
    TermAnalyzer,
    fold,
    lowest_ids,
    sentence_index,
)
from app.analysis.theme_groups import (
    Evidence,
    group_themes,
    merge_components,
    names_in,
    share,
)

STOPWORDS_DIR = Path(__file__).resolve().parent.parent / "content" / "stopwords"
LANGUAGES = ("en", "es", "fr", "de", "it", "pt")  # those with a stop-word list
UNDETERMINED = "und"  # ISO 639-2 for "no language detected"
OTHER = "other"  # the theme of texts that fit none
# A language without a stop-word list is themed from this many distinct texts on: its commonest
# words are then told apart as the terms in more than MAX_DF_WITHOUT_LIST of its texts. Below
# it, its texts are "other" and the language is listed among those not analysed.
MIN_TEXTS_WITHOUT_LIST = 20
MAX_DF_WITHOUT_LIST = 0.5
WORD_PATTERN = r"(?u)\b[^\W\d_]{2,}\b"  # words of two letters or more, no digits
MAX_FEATURES = 5_000  # the most frequent terms; rarer ones never lead a theme
RANDOM_STATE = 0
NMF_MAX_ITER = 150
NMF_TOL = 1e-3  # topic terms settle long before the loss does
QUOTE_POOL = 40  # the texts most typical of a theme that quotes are drawn from
QUOTE_REDUNDANCY = 0.5  # a quote this similar to one already chosen adds nothing
QUOTE_MAX_WORDS = 60
EVIDENCE_TERMS = 12  # a theme's terms compared with other languages' themes
_WORD = re.compile(r"[^\W\d_]+")


class DistinctText(NamedTuple):
    """One distinct text: a campaign's representative text, or a text of its own."""

    text: str  # cleaned (`clean_text`)
    weight: int  # the submissions that carry it (a campaign's member count)
    submission_ids: Sequence[int]
    language: str | None
    number: int = -1  # its place in the caller's sequence of texts
    links: frozenset[str] = frozenset()  # the sites the original text linked to


@cache
def stop_words(language: str) -> frozenset[str]:
    """The folded stop words of `language` (app/content/stopwords/<language>.txt); none for
    a language without a list."""
    if language not in LANGUAGES:
        return frozenset()
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
        max_df=1.0 if small else 0.9 if language in LANGUAGES else MAX_DF_WITHOUT_LIST,
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
    """The texts, cleaned, grouped by language code (UNDETERMINED for None); texts with
    nothing left after cleaning are dropped."""
    groups: dict[str, list[DistinctText]] = {}
    for number, (text, weight, ids, language) in enumerate(texts):
        cleaned = clean_text(text)
        if cleaned:
            entry = DistinctText(cleaned, int(weight), ids, language, number, links(text))
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
    """Themes over distinct texts given as (text, weight, submission_ids, language) tuples.

    Texts are cleaned and grouped by language. Each language with a stop-word list, and any
    other with MIN_TEXTS_WITHOUT_LIST distinct texts or more, is fitted on the first
    `max_texts` texts of `sample_order` (TF-IDF, then NMF with `theme_count` components,
    nndsvda start, fixed random_state); components that split one subject are merged
    (`merge_components`). Every text of the language, sampled or not, is then assigned to
    the theme of its strongest component, or to "other" when it shares no term with any.
    Themes no text is assigned to are dropped.
    Quotes are sentences of at least `min_quote_words` words from the theme's most typical
    texts, closest to the theme's term profile, no two alike; each cites every submission
    whose text carries the sentence or one with TF-IDF cosine ≥ `quote_similarity`. Themes
    of different languages that say the same thing form one group (`group_themes`).

    Returns {"method": {...}, "languages": {code: language result}, "other_languages":
    {code: {"texts", "submissions"}}, "groups": [group], "other": {"texts", "submissions",
    "share"}, "total": {"texts", "submissions"}, "assignment": [group id or OTHER, one per
    input text, in its order]}. A language result is {"texts", "submissions",
    "sampled_texts", "unassigned_texts", "unassigned_submissions", "themes": [theme]}; a
    theme is {"id", "language", "terms", "size", "share", "texts", "group",
    "submission_ids", "quotes": [{"text", "submission_ids", "submission_count", "texts"}]}
    with "size" the submissions (weights summed), "share" its part of every submission with
    text and "submission_ids" the first `max_ids` ids ascending; a group is {"id",
    "languages", "themes": [theme ids], "terms", "size", "share", "texts"}. Themes and groups
    are ordered by size, largest first; ids are "<prefix>-<lang>-<n>" and "<prefix>-<n>".
    Callers that store the result pop "assignment" (one entry per text) first.
    """
    texts = list(texts)
    groups = by_language(texts)
    total = {"texts": len(texts), "submissions": sum(int(text[1]) for text in texts)}
    result: dict[str, Any] = {
        "method": {
            "name": "tfidf-nmf",
            "cleaning": "markup, redaction marks, e-mail addresses, phone numbers, links",
            "theme_count": "floor(sqrt(sampled_texts / 2)), 1..max_themes",
            "max_themes": max_themes,
            "max_texts": max_texts,
            "min_texts_without_stop_words": MIN_TEXTS_WITHOUT_LIST,
            "sample": "heaviest texts first, then a fixed hash order",
            "top_terms": top_terms,
            "merge": "components whose term profiles are more alike than mean + 1 sd",
            "nmf_init": "nndsvda",
            "nmf_max_iter": NMF_MAX_ITER,
            "nmf_tol": NMF_TOL,
            "random_state": RANDOM_STATE,
            "quote_similarity": quote_similarity,
            "stop_words": "app/content/stopwords",
            "groups": "shared terms and cognates, links and named bodies (theme_groups.py)",
        },
        "languages": {},
        "other_languages": {},
        "total": total,
    }
    theme_of: dict[int, str] = {}  # input number -> language theme id
    evidence: dict[str, Evidence] = {}
    for language in sorted(groups):
        entries = groups[language]
        if language == UNDETERMINED or (
            language not in LANGUAGES and len(entries) < MIN_TEXTS_WITHOUT_LIST
        ):
            result["other_languages"][language] = language_counts(entries)
            continue
        outcome, members, found = _language_themes(
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
        result["languages"][language] = outcome
        theme_of.update(members)
        evidence.update(found)
    themes = [t for entry in result["languages"].values() for t in entry["themes"]]
    result["groups"] = group_themes(themes, evidence, total["submissions"], id_prefix)
    group_of = {theme["id"]: theme["group"] for theme in themes}
    result["assignment"] = [
        group_of[theme_of[number]] if number in theme_of else OTHER for number in range(len(texts))
    ]
    grouped = sum(group["size"] for group in result["groups"])
    grouped_texts = sum(group["texts"] for group in result["groups"])
    result["other"] = {
        "texts": total["texts"] - grouped_texts,
        "submissions": total["submissions"] - grouped,
        "share": share(total["submissions"] - grouped, total["submissions"]),
    }
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
) -> tuple[dict[str, Any], dict[int, str], dict[str, Evidence]]:
    """One language's themes; the theme id of each assigned text (by its input number); and
    what each theme's texts share with other languages' (for `group_themes`)."""
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
        return outcome, {}, {}
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
    # Components that split one subject are merged: a theme is a group of components, its
    # profile their summed term weights, a text's theme that of its strongest component.
    merged = merge_components(model.components_)
    theme_of_component = np.empty(components, dtype=np.intp)
    for number, group in enumerate(merged):
        theme_of_component[group] = number
    strongest = theme_of_component[weights.argmax(axis=1)]
    assigned = weights.max(axis=1) > 0
    terms = vectorizer.get_feature_names_out()
    vectors = index.vectors(vectorizer)
    themes, member_lists, found = [], [], []
    for number, group in enumerate(merged):
        members = np.flatnonzero(assigned & (strongest == number))
        if not len(members):
            continue
        profile = model.components_[group].sum(axis=0)
        closeness = weights[members][:, group].sum(axis=1)
        order = np.argsort(-profile, kind="stable")
        typical = members[np.argsort(-closeness, kind="stable")]
        typical = typical[typical < len(sample)][:QUOTE_POOL]
        typical_texts = [entries[i].text for i in typical]
        themes.append(
            {
                "language": language,
                "terms": _surface_forms(
                    [str(terms[i]) for i in order[:top_terms] if profile[i] > 0], typical_texts
                ),
                "size": sum(entries[i].weight for i in members),
                "texts": len(members),
                "submission_ids": lowest_ids((entries[i].submission_ids for i in members), max_ids),
                "quotes": _quotes(
                    index, typical.tolist(), vectors, profile, quotes, min_quote_words
                ),
            }
        )
        member_lists.append(members)
        found.append(
            Evidence(
                language,
                tuple(str(terms[i]) for i in order[:EVIDENCE_TERMS] if profile[i] > 0),
                frozenset().union(*(entries[i].links for i in members)),
                names_in(typical_texts),
            )
        )
    # Every quote of the language is cited in one pass over its sentences.
    sources = SentenceSources(
        index, [e.weight for e in entries], [e.submission_ids for e in entries], vectorizer
    )
    quoted = [quote for theme in themes for quote in theme["quotes"]]
    citations = iter(sources.cite_all(quoted, quote_similarity, max_ids))
    for theme in themes:
        theme["quotes"] = [{"text": q, **next(citations)._asdict()} for q in theme["quotes"]]
    order = sorted(
        range(len(themes)),
        key=lambda n: (-themes[n]["size"], -themes[n]["texts"], themes[n]["terms"]),
    )
    theme_of: dict[int, str] = {}
    evidence: dict[str, Evidence] = {}
    for rank, n in enumerate(order, start=1):
        theme_id = f"{id_prefix}-{language}-{rank}"
        outcome["themes"].append({"id": theme_id, **themes[n]})
        evidence[theme_id] = found[n]
        theme_of.update((entries[i].number, theme_id) for i in member_lists[n].tolist())
    outcome["unassigned_texts"] = int(len(entries) - assigned.sum())
    outcome["unassigned_submissions"] = sum(
        e.weight for e, is_assigned in zip(entries, assigned, strict=True) if not is_assigned
    )
    return outcome, theme_of, evidence


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
