"""Sentences of submission texts: splitting (en/es/fr), folding, and who said a sentence."""

from __future__ import annotations

import heapq
import re
import unicodedata
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from functools import lru_cache
from itertools import chain
from threading import Lock
from typing import Any, NamedTuple

import numpy as np
from scipy import sparse
from sklearn.preprocessing import normalize

_COMBINING = re.compile(r"[\u0300-\u036f]")
_WORD = re.compile(r"\w+")
_WORD_OR_BREAK = re.compile(r"\w+|\n")
# A run of terminators, any closing quotes or brackets (French puts a space before them), then
# the whitespace that separates it from the next sentence.
_BOUNDARY = re.compile(r"[.!?…]+(?:[\s\u00a0\u202f]*[»”\"’)\]])*\s+")
_OPENERS = "¿¡«“\"'‘([ \u00a0\u202f"
# A boundary as _BOUNDARY finds it, with (in a look-ahead that always succeeds, so that the
# matches are the same) the first character after any openers: "" at the end of the line.
_BOUNDARY_NEXT = re.compile(_BOUNDARY.pattern + "(?=[" + re.escape(_OPENERS) + "]*(.?))")
_ALNUM = re.compile(r"[^\W_]")  # what str.isalnum() accepts: \w less the underscore
_LIST_MARKER = re.compile(r"^\s*(?:[-*•·–—]|\(?\d{1,3}[.)]|\(?[a-zA-Z][)])\s+")
# Words that end in a full stop without ending the sentence ("Sr. García", "art. 5", "M. Roy").
ABBREVIATIONS = frozenset(
    [
        "mr",
        "mrs",
        "ms",
        "dr",
        "prof",
        "sr",
        "jr",
        "st",
        "vs",
        "no",
        "nos",
        "art",
        "arts",
        "para",
        "fig",
        "approx",
        "dept",
        "govt",
        "inc",
        "ltd",
        "co",
        "sra",
        "srta",
        "dra",
        "lic",
        "ing",
        "num",
        "pag",
        "ud",
        "uds",
        "dto",
        "av",
        "m",
        "mme",
        "mlle",
        "mm",
        "pr",
        "ch",
    ]
)


def fold(text: str) -> str:
    """Lower case without accents: "Reunificación" and "reunificacion" are the same term.

    Case is folded (casefold), compatibility forms decomposed (NFKD) and the combining
    accents U+0300..U+036F dropped, so "ñ" → "n", "ç" → "c", "ﬁ" → "fi", while "œ", "«", "»"
    and "’" are kept. ASCII text only needs lower-casing, which gives the same result."""
    if text.isascii():
        return text.lower()
    return _COMBINING.sub("", unicodedata.normalize("NFKD", text.casefold()))


def sentence_key(sentence: str) -> str:
    """What two sentences share when they differ only in case, accents or punctuation."""
    return " ".join(_WORD.findall(fold(sentence)))


def split_sentences(text: str) -> list[str]:
    """The sentences of `text`, in order, stripped.

    Lines are split apart (submissions list their points one a line) and lose list markers.
    Within a line a sentence ends at . ! ? or … (and any closing » ” ) that follow) when the
    next one starts with a capital or a digit, after an opening ¿ ¡ « “ if any; a full stop
    after a known abbreviation ("Sr.", "art.", "M."), an initial ("J. Smith") or a dotted
    abbreviation ("e.g.", "EE.UU.") does not end a sentence.
    """
    return _split(text)[0]


def _split(text: str) -> tuple[list[str], bool]:
    """`split_sentences`, and whether a piece it dropped (no letter or digit) is not ASCII,
    so that folding might still find a word in it ("™" folds to "tm")."""
    sentences = []
    for line in (text or "").splitlines():
        line = _LIST_MARKER.sub("", line)
        start = 0
        for match in _BOUNDARY_NEXT.finditer(line):
            first = match.group(1)
            if not first or not (first.isupper() or first.isdigit()):
                continue
            end = match.end()
            stop = match.start()
            if (
                line[stop] == "."
                and line[stop + 1] != "."  # the match has whitespace after its terminators
                and _is_abbreviation(line[max(start, stop - 40) : stop])
            ):
                continue
            sentences.append(line[start:end].strip())
            start = end
        sentences.append(line[start:].strip())
    kept = [sentence for sentence in sentences if _ALNUM.search(sentence)]
    odd = len(kept) < len(sentences) and any(
        not sentence.isascii() for sentence in sentences if not _ALNUM.search(sentence)
    )
    return kept, odd


def _is_abbreviation(before: str) -> bool:
    pieces = before[-40:].split()
    word = pieces[-1].lstrip(_OPENERS) if pieces else ""
    if not word:
        return False
    if "." in word:  # e.g, EE.UU, p.ex
        return True
    if len(word) == 1 and word.isalpha() and word.isupper():  # an initial
        return True
    return _folds_to_abbreviation(word)


@lru_cache(maxsize=1 << 16)
def _folds_to_abbreviation(word: str) -> bool:
    return fold(word) in ABBREVIATIONS


def _sentence_keys(sentences: list[str]) -> list[str]:
    """`sentence_key` of each sentence, folding them all in one go: folding works character
    by character (NFKD only reorders runs of accents, which a line break ends), and no
    sentence holds a line break, so the folded lines are the folded sentences."""
    if len(sentences) < 2:
        return [sentence_key(sentence) for sentence in sentences]
    words = _WORD_OR_BREAK.findall(fold("\n".join(sentences)))
    keys = [key.strip() for key in " ".join(words).split("\n")]
    if len(keys) != len(sentences):  # cannot happen, but stay exact if it does
        return [sentence_key(sentence) for sentence in sentences]
    return keys


class Citation(NamedTuple):
    submission_ids: list[int]  # the first `max_ids` ids, ascending
    submission_count: int  # every submission that carries the sentence (weights summed)
    texts: int  # distinct texts that carry it


class SentenceIndex:
    """One language's distinct texts split into sentences once, with the sentences' keys.

    Sentences with the same `sentence_key` share a key id: they have the same words, hence the
    same TF-IDF vector under any vectorizer built on `fold` and WORD_PATTERN-like tokens (a
    token is one whole word of the key). `vectors(vectorizer)` gives every key's vector with
    one sparse computation, the same numbers as `vectorizer.transform` of the sentences.
    """

    def __init__(self, texts: Sequence[str]) -> None:
        self.texts = texts
        by_sentence: dict[str, int] = {}
        by_key: dict[str, int] = {}
        keys: list[str] = []
        self._sentences: list[list[str]] = []
        self._key_ids: list[list[int]] = []
        self._whole: set[int] = set()  # texts whose words are not all in their sentences
        for number, text in enumerate(texts):
            pieces, odd = _split(text)
            if odd:
                self._whole.add(number)
            new = [piece for piece in pieces if piece not in by_sentence]
            for piece, key in zip(new, _sentence_keys(new), strict=True):
                key_id = by_key.setdefault(key, len(keys))
                if key_id == len(keys):
                    keys.append(key)
                by_sentence[piece] = key_id
            self._sentences.append(pieces)
            self._key_ids.append([by_sentence[piece] for piece in pieces])
        self.keys = keys
        self._by_key = by_key
        # Which texts carry each key: text ids ascending, key by key.
        lengths = np.fromiter(map(len, self._key_ids), dtype=np.int64, count=len(texts))
        owners = np.repeat(np.arange(len(texts), dtype=np.int64), lengths)
        occurrences = np.fromiter(chain.from_iterable(self._key_ids), np.int64, lengths.sum())
        pairs = np.unique(occurrences * max(len(texts), 1) + owners)
        self._owners = (pairs % max(len(texts), 1)).astype(np.int64)
        self._owner_starts = np.searchsorted(pairs // max(len(texts), 1), np.arange(len(keys) + 1))
        # The words of each key, as ids into one list of the language's words.
        # A key is words joined by single spaces, so one split of all keys gives every word.
        self.key_lengths = np.fromiter(
            (key.count(" ") + 1 if key else 0 for key in keys), dtype=np.int64, count=len(keys)
        )
        every_word = " ".join(keys).split()
        self._words = list(dict.fromkeys(every_word))
        word_ids = {word: i for i, word in enumerate(self._words)}
        self._word_ids = np.fromiter(
            map(word_ids.__getitem__, every_word), dtype=np.int64, count=len(every_word)
        )
        self._vectors: dict[int, tuple[Any, sparse.csr_matrix]] = {}
        self._tokens: dict[int, tuple[Any, list[str], np.ndarray]] = {}
        self._folded: dict[int, str] = {}

    def __len__(self) -> int:
        return len(self.texts)

    def sentences(self, text: int) -> list[str]:
        """The sentences of text number `text`, as `split_sentences` gives them."""
        return self._sentences[text]

    def key_ids(self, text: int) -> list[int]:
        """The key id of each of `sentences(text)`."""
        return self._key_ids[text]

    def key_id(self, sentence: str) -> int | None:
        return self._by_key.get(sentence_key(sentence))

    def owners(self, key_id: int) -> np.ndarray:
        """The texts that carry a sentence with this key, ascending."""
        return self._owners[self._owner_starts[key_id] : self._owner_starts[key_id + 1]]

    def folded(self, text: int) -> str:
        found = self._folded.get(text)
        if found is None:
            found = self._folded[text] = fold(self.texts[text])
        return found

    def tokens(self, text: int, analyzer: TermAnalyzer) -> Tokens:
        """What `analyzer` makes of text number `text`, from its sentences' keys: the
        tokens of a text are those of its sentences, since sentences split at spaces."""
        if text in self._whole:
            return Tokens(analyzer(self.texts[text]))
        found, ends = self._key_tokens(analyzer)
        return Tokens(
            chain.from_iterable(found[ends[k] : ends[k + 1]] for k in self._key_ids[text])
        )

    def sentence_tokens(self, key_id: int, analyzer: TermAnalyzer) -> Tokens:
        """What `analyzer` makes of any sentence with this key."""
        found, ends = self._key_tokens(analyzer)
        return Tokens(found[ends[key_id] : ends[key_id + 1]])

    def _key_tokens(self, analyzer: TermAnalyzer) -> tuple[list[str], np.ndarray]:
        """Every key's tokens end to end, and where each key's start (and the last ends)."""
        cached = self._tokens.get(id(analyzer))
        if cached is not None and cached[0] is analyzer:
            return cached[1], cached[2]
        wanted = np.fromiter(map(analyzer.is_token, self._words), bool, len(self._words))
        kept = wanted[self._word_ids]
        # The tokens before each key's first word, and before the end.
        before = np.concatenate([[0], np.cumsum(kept, dtype=np.int64)])
        ends = before[np.concatenate([[0], np.cumsum(self.key_lengths)])]
        words = self._words
        found = [words[i] for i in self._word_ids[kept].tolist()]
        self._tokens[id(analyzer)] = (analyzer, found, ends)
        return found, ends

    def vectors(self, vectorizer: Any) -> sparse.csr_matrix:
        """Every key's TF-IDF vector under a fitted TfidfVectorizer (rows in key id order)."""
        cached = self._vectors.get(id(vectorizer))
        if cached is not None and cached[0] is vectorizer:
            return cached[1]
        vocabulary = vectorizer.vocabulary_
        columns = np.fromiter(
            (vocabulary.get(word, -1) for word in self._words), np.int64, len(self._words)
        )[self._word_ids]
        rows = np.repeat(np.arange(len(self.keys), dtype=np.int64), self.key_lengths)
        kept = columns >= 0
        # Counts as CountVectorizer makes them: summed per row, columns ascending.
        counts = sparse.csr_matrix(
            (np.ones(int(kept.sum()), dtype=vectorizer.dtype), (rows[kept], columns[kept])),
            shape=(len(self.keys), len(vocabulary)),
            dtype=vectorizer.dtype,
        )
        counts.sum_duplicates()
        counts.sort_indices()
        # Then TfidfTransformer's steps, in its order and dtype.
        if vectorizer.sublinear_tf:
            np.log(counts.data, counts.data)
            counts.data += 1.0
        if vectorizer.use_idf:
            counts.data *= vectorizer.idf_[counts.indices]
        matrix = normalize(counts, norm=vectorizer.norm, copy=False) if vectorizer.norm else counts
        self._vectors[id(vectorizer)] = (vectorizer, matrix)
        while len(self._vectors) > 4:  # themes' and summary's, and room for a rerun
            del self._vectors[next(iter(self._vectors))]
        return matrix


class Tokens(list):
    """A document already cut into tokens, which `TermAnalyzer` passes through."""


class TermAnalyzer:
    """A TfidfVectorizer analyzer: `token_pattern` over the folded text, less stop words,
    as TfidfVectorizer(preprocessor=fold, token_pattern=..., stop_words=...) analyses it.
    `Tokens` (from a `SentenceIndex`) are taken as they are, so that a corpus already split
    into sentences is not analysed twice. `token_pattern` must only match whole words (as
    `\\b...\\b` of letters does), so that a sentence's tokens are words of its key."""

    def __init__(self, token_pattern: str, stop_words: frozenset[str]) -> None:
        self.token_pattern = token_pattern
        self.stop_words = stop_words
        self._find = re.compile(token_pattern).findall

    def __call__(self, document: str | Tokens) -> list[str]:
        if isinstance(document, Tokens):
            return document
        stop = self.stop_words
        return [token for token in self._find(fold(document)) if token not in stop]

    def is_token(self, word: str) -> bool:
        """Whether a word of a sentence key (a folded \\w+ run) is one token to keep."""
        return word not in self.stop_words and self._find(word) == [word]


_INDEXES: OrderedDict[tuple[str, ...], SentenceIndex] = OrderedDict()
_INDEXES_LOCK = Lock()
INDEX_CACHE_SIZE = 6  # a part's comments and amendments, three languages each


def sentence_index(texts: Sequence[str]) -> SentenceIndex:
    """The `SentenceIndex` of `texts`, shared by the analyses of the same texts (the summary
    reuses the themes' one): the last INDEX_CACHE_SIZE indexes are kept."""
    key = tuple(texts)
    with _INDEXES_LOCK:
        index = _INDEXES.get(key)
        if index is not None:
            _INDEXES.move_to_end(key)
            return index
    index = SentenceIndex(key)
    with _INDEXES_LOCK:
        _INDEXES[key] = index
        while len(_INDEXES) > INDEX_CACHE_SIZE:
            _INDEXES.popitem(last=False)
    return index


class SentenceSources:
    """Which of one language's distinct texts carry a sentence, word for word or nearly.

    Nearly means a cosine similarity of at least `threshold` between TF-IDF vectors (from
    `vectorizer`, L2-normalised) and, as a guard against chance matches, a text that also
    contains the sentence's two strongest terms (or, for a sentence without terms, its two
    longest words). Every sentence of the language is split, keyed and vectorised once
    (`SentenceIndex`); a look-up is then a dictionary look-up for the exact matches and one
    sparse product for the near ones.
    """

    def __init__(
        self,
        index: SentenceIndex,
        weights: Sequence[int],
        submission_ids: Sequence[Sequence[int]],
        vectorizer: Any,
    ) -> None:
        self._index = index
        self._weights = weights
        self._ids = submission_ids
        self._vectorizer = vectorizer
        self._features = vectorizer.get_feature_names_out()

    def cite(self, sentence: str, threshold: float = 0.9, max_ids: int = 100) -> Citation:
        return self.cite_all([sentence], threshold, max_ids)[0]

    def cite_all(
        self, sentences: Sequence[str], threshold: float = 0.9, max_ids: int = 100
    ) -> list[Citation]:
        """`cite` for each of `sentences`, with one sparse product for all of them."""
        if not sentences:
            return []
        index = self._index
        known = [index.key_id(sentence) for sentence in sentences]
        vectors = index.vectors(self._vectorizer)
        missing = [s for s, key_id in zip(sentences, known, strict=True) if key_id is None]
        extra = self._vectorizer.transform(missing) if missing else None
        rows, j = [], 0
        for key_id in known:
            if key_id is None:
                rows.append(extra[j])
                j += 1
            else:
                rows.append(vectors[key_id])
        queries = sparse.vstack(rows, format="csr")
        similar = (vectors @ queries.T).tocsc()
        citations = []
        for q, key_id in enumerate(known):
            matched: set[int] = set()
            if key_id is not None:
                matched.update(index.owners(key_id).tolist())
            query = queries[q]
            if query.nnz:
                strongest = np.argsort(-query.data, kind="stable")[:2]
                needles = [self._features[query.indices[i]] for i in strongest]
                start, end = similar.indptr[q], similar.indptr[q + 1]
                close = similar.indices[start:end][similar.data[start:end] >= threshold - 1e-9]
                for near in close.tolist():
                    if near == key_id:
                        continue
                    for text in index.owners(near).tolist():
                        if text not in matched:
                            folded = index.folded(text)
                            if all(needle in folded for needle in needles):
                                matched.add(text)
            citations.append(self._citation(sorted(matched), max_ids))
        return citations

    def _citation(self, texts: list[int], max_ids: int) -> Citation:
        count = sum(self._weights[i] for i in texts)
        ids = lowest_ids((self._ids[i] for i in texts), max_ids)
        return Citation(submission_ids=ids, submission_count=count, texts=len(texts))


def lowest_ids(groups: Iterable[Sequence[int]], limit: int) -> list[int]:
    """The `limit` lowest distinct ids of some groups, ascending, without sorting them all."""
    return sorted(set(heapq.nsmallest(limit, set(chain.from_iterable(groups)))))
