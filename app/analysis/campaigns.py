"""Campaigns: the submissions on one item that send the same letter, edited or not.

Two texts are the same letter when their word 3-gram shingles (near_duplicates.shingles)
overlap enough: a Jaccard similarity of at least JACCARD, or, when the shorter text has at
least MIN_CONTAINED shingles, at least CONTAINMENT of the shorter's shingles found in the
longer (a letter with a paragraph of one's own added still matches).

A campaign is a connected component of the graph whose edges join two texts that share an LSH
band (the candidates, near_duplicates.signature_bands) and are the same letter. Components do
not depend on the order in which texts arrive: a text that matches two campaigns joins them
into one. Its key is the smallest key or id it holds, so a merge keeps the lowest key.

`joined` is the one step both users take: the worker, for each submission it flags (its
candidates read from the database, one item at a time), and `group`, over a whole set of texts
at once (the bench and the tests, which compare the two).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from app.analysis.near_duplicates import shingles, signature_bands

JACCARD = 0.45
CONTAINMENT = 0.8
MIN_CONTAINED = 20  # shingles: a short text inside a long letter is not a copy of it
# At most this many members of one campaign are compared with a newcomer before it is taken to
# be a different letter; candidates sharing the most bands are compared first.
MAX_CHECKS = 25

Shingles = frozenset[str]


@dataclass(frozen=True)
class Candidate:
    """A text sharing at least one LSH band with the newcomer."""

    id: int
    group: int  # its campaign's key, or its own id when it belongs to none
    shared_bands: int


def pieces(text: str) -> Shingles:
    return frozenset(shingles(text))


def same_letter(a: Shingles, b: Shingles) -> bool:
    if not a or not b:
        return False
    common = len(a & b)
    if common >= JACCARD * (len(a) + len(b) - common):
        return True
    shorter = min(len(a), len(b))
    return shorter >= MIN_CONTAINED and common >= CONTAINMENT * shorter


def to_compare(candidates: Iterable[Candidate]) -> list[Candidate]:
    """The candidates worth comparing: per group, the MAX_CHECKS sharing the most bands."""
    ranked = sorted(candidates, key=lambda c: (c.group, -c.shared_bands, c.id))
    chosen: list[Candidate] = []
    per_group: dict[int, int] = defaultdict(int)
    for candidate in ranked:
        if per_group[candidate.group] < MAX_CHECKS:
            per_group[candidate.group] += 1
            chosen.append(candidate)
    return chosen


def joined(
    newcomer: Shingles, candidates: Iterable[Candidate], texts: Mapping[int, Shingles]
) -> set[int]:
    """The groups the newcomer joins: those with a member that is the same letter as it.
    `texts` holds the shingles of (at least) the candidates `to_compare` chose."""
    found: set[int] = set()
    for candidate in to_compare(candidates):
        if candidate.group not in found and same_letter(newcomer, texts[candidate.id]):
            found.add(candidate.group)
    return found


def group(texts: Mapping[int, str]) -> dict[int, int]:
    """Every text that belongs to a campaign, mapped to the campaign's key (its smallest id);
    texts that are their own letter are left out. The same whatever the order of `texts`."""
    parent: dict[int, int] = {}

    def root(node: int) -> int:
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    buckets: dict[tuple[int, int], list[int]] = defaultdict(list)
    shingled: dict[int, Shingles] = {}
    for text_id in sorted(texts):  # as the worker meets them; any order gives the same groups
        parent[text_id] = text_id
        shingled[text_id] = pieces(texts[text_id])
        bands = signature_bands(texts[text_id])
        shared: dict[int, int] = defaultdict(int)
        for band in bands:
            for other in buckets[band]:
                shared[other] += 1
            buckets[band].append(text_id)
        candidates = [Candidate(other, root(other), n) for other, n in shared.items()]
        for found in joined(shingled[text_id], candidates, shingled):
            low, high = sorted((root(found), root(text_id)))
            parent[high] = low
    members: dict[int, list[int]] = defaultdict(list)
    for text_id in parent:
        members[root(text_id)].append(text_id)
    return {text_id: min(ids) for ids in members.values() if len(ids) > 1 for text_id in ids}
