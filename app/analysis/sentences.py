"""Sentences of submission texts: splitting (en/es/fr), folding, and who said a sentence."""

from __future__ import annotations

import heapq
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from itertools import chain
from typing import NamedTuple

import numpy as np
from scipy import sparse

_COMBINING = re.compile(r"[\u0300-\u036f]")
_WORD = re.compile(r"\w+")
# A run of terminators, any closing quotes or brackets (French puts a space before them), then
# the whitespace that separates it from the next sentence.
_BOUNDARY = re.compile(r"[.!?…]+(?:[\s\u00a0\u202f]*[»”\"’)\]])*\s+")
_OPENERS = "¿¡«“\"'‘([ \u00a0\u202f"
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
    """Lower case without accents: "Reunificación" and "reunificacion" are the same term."""
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
    sentences = []
    for line in (text or "").splitlines():
        line = _LIST_MARKER.sub("", line)
        start = 0
        for match in _BOUNDARY.finditer(line):
            following = line[match.end() :].lstrip(_OPENERS)
            if not following or not (following[0].isupper() or following[0].isdigit()):
                continue
            single_stop = match.group().startswith(".") and not match.group().startswith("..")
            if single_stop and _is_abbreviation(line[start : match.start()]):
                continue
            sentences.append(line[start : match.end()].strip())
            start = match.end()
        sentences.append(line[start:].strip())
    return [sentence for sentence in sentences if any(ch.isalnum() for ch in sentence)]


def _is_abbreviation(before: str) -> bool:
    pieces = before[-40:].split()
    word = pieces[-1].lstrip(_OPENERS) if pieces else ""
    if not word:
        return False
    if "." in word:  # e.g, EE.UU, p.ex
        return True
    if len(word) == 1 and word.isalpha() and word.isupper():  # an initial
        return True
    return fold(word) in ABBREVIATIONS


class Citation(NamedTuple):
    submission_ids: list[int]  # the first `max_ids` ids, ascending
    submission_count: int  # every submission that carries the sentence (weights summed)
    texts: int  # distinct texts that carry it


class SentenceSources:
    """Which of one language's distinct texts carry a sentence, word for word or nearly.

    Nearly means a cosine similarity of at least `threshold` between TF-IDF vectors (from
    `vectorize`, L2-normalised). Only texts that contain the sentence's two strongest terms
    (or, for a sentence without terms, its two longest words) are split and compared, so a
    look-up costs a substring scan of the language's texts rather than a vectorisation.
    """

    def __init__(
        self,
        texts: Sequence[str],
        weights: Sequence[int],
        submission_ids: Sequence[Sequence[int]],
        vectorize: Callable[[list[str]], sparse.csr_matrix],
        feature_names: Sequence[str],
    ) -> None:
        self._texts = texts
        self._weights = weights
        self._ids = submission_ids
        self._vectorize = vectorize
        self._features = feature_names
        self._folded = [fold(text) for text in texts]

    def cite(self, sentence: str, threshold: float = 0.9, max_ids: int = 100) -> Citation:
        key = sentence_key(sentence)
        vector = self._vectorize([sentence])
        if vector.nnz:
            strongest = np.argsort(-vector.data, kind="stable")[:2]
            needles = [self._features[vector.indices[i]] for i in strongest]
        else:
            needles = sorted(key.split(), key=lambda word: (-len(word), word))[:2]
        candidates = [
            i for i, folded in enumerate(self._folded) if all(n in folded for n in needles)
        ]
        owners: list[int] = []
        pieces: list[str] = []
        for i in candidates:
            for piece in split_sentences(self._texts[i]):
                owners.append(i)
                pieces.append(piece)
        matched = {owners[j] for j, piece in enumerate(pieces) if sentence_key(piece) == key}
        if vector.nnz and pieces:
            similarity = (self._vectorize(pieces) @ vector.T).toarray().ravel()
            matched.update(owners[j] for j in np.flatnonzero(similarity >= threshold - 1e-9))
        return self._citation(sorted(matched), max_ids)

    def _citation(self, texts: list[int], max_ids: int) -> Citation:
        count = sum(self._weights[i] for i in texts)
        ids = lowest_ids((self._ids[i] for i in texts), max_ids)
        return Citation(submission_ids=ids, submission_count=count, texts=len(texts))


def lowest_ids(groups: Iterable[Sequence[int]], limit: int) -> list[int]:
    """The `limit` lowest distinct ids of some groups, ascending, without sorting them all."""
    return sorted(set(heapq.nsmallest(limit, set(chain.from_iterable(groups)))))
