"""Near-duplicate fingerprints: MinHash over word 3-grams, cut into LSH bands.

Two texts share at least one (band, hash) with probability 1 - (1 - J**ROWS)**BANDS, where J
is the Jaccard similarity of their shingle sets: 96 % at J = 0.5, 90 % at 0.45, 48 % at 0.3 and
3 % at 0.1. A shared band only makes two texts candidates: app.analysis.campaigns confirms each
by their real similarity. 24 bands of 3 rows were chosen on a labelled corpus of edited form
letters (bench/campaign_bench.py, bench/README.md). The hashes are the same in every process
(fixed seed, no salted hash()).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from functools import cache

import numpy as np
from datasketch import MinHash

BANDS = 24
ROWS = 3
NUM_PERM = BANDS * ROWS
SEED = 20210618  # any fixed value; changing it invalidates every stored fingerprint
SHINGLE_WORDS = 3
HASH_MASK = (1 << 63) - 1  # fits a signed BIGINT column

WORD = re.compile(r"\w+")


def normalised_words(text: str) -> list[str]:
    """Lower-case words without accents or punctuation: trivial edits do not change them."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return WORD.findall(plain)


def shingles(text: str) -> set[str]:
    words = normalised_words(text)
    if not words:
        return set()
    if len(words) < SHINGLE_WORDS:
        return {" ".join(words)}
    return {" ".join(words[i : i + SHINGLE_WORDS]) for i in range(len(words) - SHINGLE_WORDS + 1)}


def minhash(text: str) -> MinHash | None:
    """The MinHash of `text`'s shingles, or None when it has no words."""
    pieces = shingles(text)
    if not pieces:
        return None
    signature = MinHash(num_perm=NUM_PERM, seed=SEED, permutations=_permutations())
    signature.update_batch([piece.encode("utf-8") for piece in sorted(pieces)])
    return signature


def signature_bands(text: str) -> list[tuple[int, int]]:
    """(band, 63-bit hash) for each of the BANDS bands; empty for a text without words."""
    signature = minhash(text)
    if signature is None:
        return []
    values = np.asarray(signature.hashvalues, dtype="<u8")
    bands = []
    for band in range(BANDS):
        rows = values[band * ROWS : (band + 1) * ROWS].tobytes()
        digest = hashlib.blake2b(rows, digest_size=8, person=b"consulta-lsh").digest()
        bands.append((band, int.from_bytes(digest, "big") & HASH_MASK))
    return bands


def jaccard(a: str, b: str) -> float:
    """The exact Jaccard similarity of two texts' shingle sets (for checks and tests)."""
    first, second = shingles(a), shingles(b)
    if not first and not second:
        return 1.0
    return len(first & second) / len(first | second)


@cache
def _permutations() -> tuple[np.ndarray, np.ndarray]:
    # Drawing the permutations once per process, not once per text, keeps a signature cheap.
    return MinHash(num_perm=NUM_PERM, seed=SEED).permutations
