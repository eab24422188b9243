"""Themes that say the same thing, put together: components of one language's factorisation
that split one subject (`merge_components`), and themes of different languages (`group_themes`).

Themes are found language by language (app/analysis/themes.py): a Spanish and an English
text on family reunification share no word a vectorizer would see. What they do share is
evidence a reader would trust: cognates among their leading terms ("reunification",
"reunificación", "réunification" begin alike once folded), the sites their texts link to, and
the bodies they name ("UNHCR", "USMCA"). Two themes of different languages join when each is
the other's best match in its language and the evidence reaches MIN_EVIDENCE; a group never
holds two themes of one language, which the factorisation kept apart on purpose.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np

from app.analysis.sentences import fold

STEM = 5  # letters two cognates must begin with ("migra", "prote", "famil")
MIN_EVIDENCE = 3  # shared stems, plus two for each shared link or named body
LINK_WEIGHT = 2
NAME_WEIGHT = 2
MIN_TO_MERGE = 4  # components of one language from which similar ones are merged
# Acronyms of named bodies: two to eight capitals, perhaps with digits ("UNHCR", "G20").
_NAME = re.compile(r"\b[A-Z][A-Z0-9]{1,7}\b")
_ROMAN = frozenset({"II", "III", "IV", "VI", "VII", "VIII", "IX", "XI", "XII"})


class Evidence(NamedTuple):
    language: str
    terms: tuple[str, ...]  # folded, strongest first
    links: frozenset[str]  # sites linked to
    names: frozenset[str]  # named bodies (acronyms)


def names_in(texts: Iterable[str]) -> frozenset[str]:
    """The acronyms of `texts` (not Roman numerals)."""
    found: set[str] = set()
    for text in texts:
        found.update(_NAME.findall(text))
    return frozenset(found - _ROMAN)


def stems(terms: Sequence[str]) -> frozenset[str]:
    """The first STEM letters of each term at least that long."""
    return frozenset(fold(term)[:STEM] for term in terms if len(term) >= STEM)


def evidence_score(a: Evidence, b: Evidence) -> int:
    """What two themes share: a point per shared stem, LINK_WEIGHT per link, NAME_WEIGHT per
    named body."""
    return (
        len(stems(a.terms) & stems(b.terms))
        + LINK_WEIGHT * len(a.links & b.links)
        + NAME_WEIGHT * len(a.names & b.names)
    )


def matched_pairs(evidence: Mapping[str, Evidence]) -> list[tuple[int, str, str]]:
    """(score, theme, theme) for themes of different languages that are each other's best
    match in the other's language with at least MIN_EVIDENCE, strongest first."""
    best: dict[tuple[str, str], tuple[int, str]] = {}  # (theme, other language) -> best
    ids = sorted(evidence)
    scores: dict[tuple[str, str], int] = {}
    for i, a in enumerate(ids):
        for b in ids[i + 1 :]:
            if evidence[a].language == evidence[b].language:
                continue
            score = evidence_score(evidence[a], evidence[b])
            scores[a, b] = score
            for this, other in ((a, b), (b, a)):
                key = (this, evidence[other].language)
                if score > best.get(key, (0, ""))[0]:
                    best[key] = (score, other)
    pairs = [
        (score, a, b)
        for (a, b), score in scores.items()
        if score >= MIN_EVIDENCE
        and best[a, evidence[b].language][1] == b
        and best[b, evidence[a].language][1] == a
    ]
    return sorted(pairs, key=lambda pair: (-pair[0], pair[1], pair[2]))


def group_themes(
    themes: list[dict[str, Any]],
    evidence: Mapping[str, Evidence],
    total_submissions: int,
    id_prefix: str = "theme",
) -> list[dict[str, Any]]:
    """The groups of `themes` (each {"id", "language", "terms", "size", "texts"}), largest
    first, as {"id", "languages", "themes", "terms", "size", "share", "texts"}; each theme
    gets its "group" id and its "share" of `total_submissions`."""
    group_of = {theme["id"]: {theme["id"]} for theme in themes}
    language_of = {theme["id"]: theme["language"] for theme in themes}
    for _score, a, b in matched_pairs({k: v for k, v in evidence.items() if k in group_of}):
        first, second = group_of[a], group_of[b]
        if first is second:
            continue
        if {language_of[t] for t in first} & {language_of[t] for t in second}:
            continue  # never two themes of one language
        first |= second
        for member in second:
            group_of[member] = first
    by_id = {theme["id"]: theme for theme in themes}
    groups, seen = [], set()
    for theme in themes:
        members = group_of[theme["id"]]
        if id(members) in seen:
            continue
        seen.add(id(members))
        ordered = sorted(
            (by_id[m] for m in members), key=lambda t: (-t["size"], -t["texts"], t["id"])
        )
        size = sum(t["size"] for t in ordered)
        groups.append(
            {
                "languages": [t["language"] for t in ordered],
                "themes": [t["id"] for t in ordered],
                "terms": list(ordered[0]["terms"]),
                "size": size,
                "share": share(size, total_submissions),
                "texts": sum(t["texts"] for t in ordered),
            }
        )
    groups.sort(key=lambda g: (-g["size"], -g["texts"], g["themes"][0]))
    for rank, group in enumerate(groups, start=1):
        group_id = f"{id_prefix}-{rank}"
        groups[rank - 1] = {"id": group_id, **group}
        for member in group["themes"]:
            by_id[member]["group"] = group_id
    for theme in themes:
        theme["share"] = share(theme["size"], total_submissions)
    return groups


def share(part: int, whole: int) -> float:
    """`part` of `whole`, to four decimals (0 of nothing)."""
    return round(part / whole, 4) if whole else 0.0


def merge_components(profiles: np.ndarray) -> list[list[int]]:
    """The NMF components of one language merged into themes: average-linkage agglomeration
    on the cosine of their term profiles, while the closest two groups are more alike than
    components usually are (the mean of every pair's cosine plus one standard deviation).

    A fixed number of components splits a large subject in two ("football", "tennis") as
    readily as it finds a small one; two halves of one subject share terms far more than
    subjects do, which a threshold relative to this corpus's own components tells apart
    whatever its vocabulary. With fewer than MIN_TO_MERGE components the statistic means
    nothing and each component stays a theme. Groups come in order of their first component.
    """
    count = len(profiles)
    groups = [[n] for n in range(count)]
    if count < MIN_TO_MERGE:
        return groups
    norms = np.linalg.norm(profiles, axis=1, keepdims=True)
    unit = profiles / np.where(norms == 0, 1, norms)
    similarity = unit @ unit.T
    pairs = similarity[~np.eye(count, dtype=bool)]
    threshold = float(pairs.mean() + pairs.std())
    while len(groups) > 1:
        best, first, second = max(
            (float(similarity[np.ix_(a, b)].mean()), i, j)
            for i, a in enumerate(groups)
            for j, b in enumerate(groups)
            if i < j
        )
        if best <= threshold:
            break
        groups[first] = sorted(groups[first] + groups[second])
        del groups[second]
    return groups
