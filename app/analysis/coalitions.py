"""The organisation × item stance matrix and coalitions: groups of organisations that take
similar positions across a consultation's items.

Kept whole: one accumulator (StanceMatrix), its merge, and the clustering of its result.

The matrix is accumulated one streamed `Submission` at a time (memory grows with organisations ×
items, never with rows); the clustering runs once in `result()` on at most MAX_PROFILES distinct
patterns of answers, so it stays within seconds however large a mass campaign is.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
from scipy.cluster.hierarchy import fcluster, linkage
from scipy.spatial.distance import squareform

from app.analysis.figures import dominant_stance
from app.analysis.records import Submission
from app.analysis.tally import STANCES

# Support and opposition are the two ends of the scale, neutral sits in the middle, and support
# with amendments is a qualified yes: one step from support, three from opposition.
# "No overall position" has no score: it is no point on that scale (neutral is one), so in the
# clustering it counts as an item not answered, and a coalition's shared stances leave it out.
STANCE_SCORES = {"support": 2, "support_with_amendments": 1, "neutral": 0, "oppose": -2}
SCORED_STANCES = tuple(stance for stance in STANCES if stance in STANCE_SCORES)
NO_POSITION = "no_position"
SCALE = max(STANCE_SCORES.values()) - min(STANCE_SCORES.values())
NO_STANCE = "no_stance"  # in the matrix: answered without a stance (None: not answered)
MIN_ITEMS = 2  # items an organisation must have taken a stance on to be clustered
MIN_OVERLAP = 2  # items two organisations must both have answered to be compared at all
DISTANCE_THRESHOLD = 0.25  # largest average distance inside a coalition (0 = same, 1 = opposite)
MAX_PROFILES = 3000  # distinct answer patterns clustered directly; the rest join or stay out
_CHUNK = 2000
_EPSILON = 1e-9  # float slack so that a distance of exactly the threshold is inside

METHOD = (
    "Each organisation's stance on each item is scored: support 2, support with amendments 1, "
    "neutral 0, oppose -2 (support with amendments is a qualified yes, one step from support "
    "and three from opposition). Co-signers take the stance of the positions they co-signed "
    "unless they answered the item themselves; several positions on one item count by "
    "majority. Two organisations are compared on the items both answered, and only when they "
    f"share at least {MIN_OVERLAP}: their distance is the average gap between their scores "
    f"divided by {SCALE}, so 0 means the same stance everywhere and 1 means opposite stances "
    f"everywhere. Organisations with a stance on fewer than {MIN_ITEMS} items are shown in the "
    "matrix but not grouped. Organisations with exactly the same answers are grouped first, and "
    "each distinct pattern of answers counts once, so a mass campaign cannot outweigh the "
    "others. The patterns are then merged step by step, closest first, where closeness between "
    "two groups is the average distance between their members (average-linkage hierarchical "
    f"clustering), as long as that average stays at or below {DISTANCE_THRESHOLD}. When there "
    f"are more than {MAX_PROFILES} patterns, the {MAX_PROFILES} shared by the most "
    "organisations (then those answering the most items, then the earliest registered) are "
    "clustered and each other pattern joins the group it is closest to on average, if that is "
    "within the same limit (organisations with identical answers stay together either way). "
    "A coalition is a group of at least two organisations; its shared "
    "stance on an item is its members' majority, and its cohesion is the share of its members' "
    "answers that equal the shared stance. No overall position has no score: it neither brings "
    "organisations together nor sets them apart, as if the item were not answered, and it is "
    "shown in the matrix but left out of a coalition's shared stances."
)


@dataclass(frozen=True)
class SharedStance:
    stance: str | None  # the members' majority (ties: the earlier stance in STANCES)
    answered: int  # members with a scored stance on the item (see STANCE_SCORES)
    agreeing: int  # members whose stance is the majority

    def as_dict(self) -> dict[str, Any]:
        return {"stance": self.stance, "answered": self.answered, "agreeing": self.agreeing}


@dataclass(frozen=True)
class Coalition:
    members: list[tuple[int, str]]  # (organisation id, name), by id
    shared: dict[str, SharedStance]  # item code -> the coalition's stance
    cohesion: float  # share of members' answers equal to the shared stance

    @property
    def size(self) -> int:
        return len(self.members)

    def as_dict(self) -> dict[str, Any]:
        return {
            "size": self.size,
            "members": [{"id": i, "name": name} for i, name in self.members],
            "shared": {item: s.as_dict() for item, s in self.shared.items()},
            "cohesion": round(self.cohesion, 4),
        }


@dataclass(frozen=True)
class Grouping:
    """The clustering of `find_coalitions`: groups of organisation ids (two or more, largest
    first) and how many organisations were left out and why."""

    groups: list[list[int]]
    clustered: int  # organisations that went into the clustering
    too_few_items: int  # stance on fewer than MIN_ITEMS items
    not_joined: int  # beyond MAX_PROFILES, alone in its pattern, close to no group


class _Clustering(NamedTuple):
    groups: list[np.ndarray]  # row numbers of the code matrix
    clustered: int
    too_few_items: int
    not_joined: int


@dataclass(frozen=True)
class StanceMatrixResult:
    items: list[str]
    rows: list[tuple[int, str, tuple[str | None, ...]]]  # (id, name, stance per item), by id
    coalitions: list[Coalition]  # largest first
    clustered: int
    too_few_items: int
    not_joined: int
    anonymous_positions: int  # rows without a public name: counted, kept out of the matrix
    method: str = METHOD

    def as_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "items": list(self.items),
            "matrix": [
                {"id": i, "name": name, "stances": list(stances)} for i, name, stances in self.rows
            ],
            "coalitions": [c.as_dict() for c in self.coalitions],
            "organisations": len(self.rows),
            "clustered": self.clustered,
            "in_coalitions": sum(c.size for c in self.coalitions),
            "too_few_items": self.too_few_items,
            "not_joined": self.not_joined,
            "anonymous_positions": self.anonymous_positions,
        }


class StanceMatrix:
    """The matrix accumulator: `add()` every row, then `result()` once.

    `organisation_names` names co-signers that never submitted in the report's rows. A row with
    an empty organisation name (an anonymous position in the public version) is counted but
    kept out of the matrix, so that its stance is not tied to the organisation; `answered()`
    still includes it for coverage.
    """

    def __init__(self, organisation_names: Mapping[int, str] | None = None) -> None:
        self._names: dict[int, str] = dict(organisation_names or {})
        self._own: dict[tuple[int, str, str | None], int] = {}
        self._cosigned: Counter[tuple[int, str, str | None]] = Counter()
        self._anonymous: set[tuple[int, str]] = set()
        self._anonymous_positions = 0

    def add(self, row: Submission) -> None:
        item = row.item_code
        stance = row.stance
        name = row.organization_name
        if name:
            organisation_id = row.organization_id
            own = self._own
            key = (organisation_id, item, stance)
            own[key] = own.get(key, 0) + 1  # a plain dict: faster to index than a Counter
            self._names[organisation_id] = name
        else:
            self._anonymous_positions += 1
            self._anonymous.add((row.organization_id, item))
        if row.cosigners:
            for cosigner in row.cosigners:
                self._cosigned[(cosigner, item, stance)] += 1

    def update(self, rows: Iterable[Submission]) -> StanceMatrix:
        for row in rows:
            self.add(row)
        return self

    def state(self) -> dict[str, Any]:
        """Everything collected so far but the names, as compact JSON-ready data, for another
        matrix to `merge()`: per (item, stance) the organisation ids, an id repeated when it
        took that stance several times. The merging side names the organisations
        (`unnamed()`, `add_names()`): a name would otherwise travel once per item."""

        def grouped(counts: Mapping[tuple[int, str, str | None], int]) -> list:
            ids: dict[tuple[str, str | None], list[int]] = defaultdict(list)
            for (organisation_id, item, stance), n in counts.items():
                ids[(item, stance)].extend([organisation_id] * n)
            return [[item, stance, found] for (item, stance), found in ids.items()]

        return {
            "own": grouped(self._own),
            "cosigned": grouped(self._cosigned),
            "anonymous": [list(pair) for pair in self._anonymous],
            "anonymous_positions": self._anonymous_positions,
        }

    def merge(self, state: Mapping[str, Any]) -> StanceMatrix:
        """Add another matrix's `state()`, as if its rows had been `add()`ed here (names
        apart: see `add_names`)."""
        own, cosigned = self._own, self._cosigned
        for item, stance, ids in state["own"]:
            for organisation_id in ids:
                key = (organisation_id, item, stance)
                own[key] = own.get(key, 0) + 1
        for item, stance, ids in state["cosigned"]:
            for organisation_id in ids:
                cosigned[(organisation_id, item, stance)] += 1
        self._anonymous.update((o, item) for o, item in state["anonymous"])
        self._anonymous_positions += state["anonymous_positions"]
        return self

    def unnamed(self) -> set[int]:
        """Organisations in the matrix without a name yet (merged ones, co-signers)."""
        ids = {organisation_id for organisation_id, _item, _stance in self._own}
        ids.update(organisation_id for organisation_id, _item, _stance in self._cosigned)
        return ids - self._names.keys()

    def add_names(self, names: Mapping[int, str]) -> StanceMatrix:
        self._names.update(names)
        return self

    def answered(self) -> set[tuple[int, str]]:
        """Every (organisation id, item code) answered, by submitting or co-signing."""
        pairs = {(o, item) for o, item, _ in self._own}
        pairs.update((o, item) for o, item, _ in self._cosigned)
        return pairs | self._anonymous

    def positions(self) -> dict[int, dict[str, str | None]]:
        """Organisation -> item -> stance (None: answered without one)."""
        positions: dict[int, dict[str, str | None]] = defaultdict(dict)
        for (organisation_id, item), stance in self._cells().items():
            positions[organisation_id][item] = stance
        return dict(positions)

    def _cells(self) -> dict[tuple[int, str], str | None]:
        """(organisation, item) -> stance. An organisation's own positions decide; co-signed
        ones only where it has none of its own; a majority decides between several."""
        return {**_majorities(self._cosigned), **_majorities(self._own)}

    def result(
        self,
        items: Sequence[str] | None = None,
        *,
        threshold: float = DISTANCE_THRESHOLD,
        max_profiles: int = MAX_PROFILES,
    ) -> StanceMatrixResult:
        """The matrix and its coalitions; `items` fixes the columns (default: every item seen,
        sorted)."""
        cells = self._cells()
        if items is None:
            items = sorted({item for _, item in cells})
        items = list(items)
        ids, codes = _code_matrix(cells, items)
        grouping = _group(codes, threshold=threshold, max_profiles=max_profiles)
        names = self._names
        id_list = ids.tolist()
        rows = [
            (organisation_id, names.get(organisation_id, ""), tuple(map(_DECODE.get, answers)))
            for organisation_id, answers in zip(id_list, codes.tolist(), strict=True)
        ]
        coalitions = [_coalition(group, id_list, codes, items, names) for group in grouping.groups]
        return StanceMatrixResult(
            items=items,
            rows=rows,
            coalitions=coalitions,
            clustered=grouping.clustered,
            too_few_items=grouping.too_few_items,
            not_joined=grouping.not_joined,
            anonymous_positions=self._anonymous_positions,
        )


def _majorities(counts: Mapping[tuple[int, str, str | None], int]) -> dict[tuple[int, str], Any]:
    """(organisation, item) -> its majority stance; almost every cell has a single one."""
    single: dict[tuple[int, str], Any] = {}
    several: dict[tuple[int, str], dict[str | None, int]] = {}
    for (organisation_id, item, stance), n in counts.items():
        key = (organisation_id, item)
        if key in single:
            several.setdefault(key, dict([single[key]]))[stance] = n
        else:
            single[key] = (stance, n)
    found = {key: stance for key, (stance, _) in single.items()}
    for key, stances in several.items():
        found[key] = dominant_stance(stances)
    return found


# Codes of the matrix beyond the stance scores; all count as "not answered" in the clustering.
_UNANSWERED = 99
_ANSWERED_WITHOUT_STANCE = 98
_NO_OVERALL_POSITION = 97
_ENCODE: dict[str | None, int] = {
    **STANCE_SCORES,
    NO_POSITION: _NO_OVERALL_POSITION,
    None: _ANSWERED_WITHOUT_STANCE,
}
_DECODE: dict[int, str | None] = {
    **{score: stance for stance, score in STANCE_SCORES.items()},
    _NO_OVERALL_POSITION: NO_POSITION,
    _ANSWERED_WITHOUT_STANCE: NO_STANCE,
    _UNANSWERED: None,
}
_TOP_SCORE = max(STANCE_SCORES.values())


def _code_matrix(
    cells: Mapping[tuple[int, str], str | None], items: Sequence[str]
) -> tuple[np.ndarray, np.ndarray]:
    """Organisation ids (ascending) and their int8 codes per item."""
    ids = np.array(sorted({organisation_id for organisation_id, _ in cells}), dtype=np.int64)
    row_of = {organisation_id: row for row, organisation_id in enumerate(ids.tolist())}
    column_of = {item: column for column, item in enumerate(items)}
    rows, columns, values = [], [], []
    for (organisation_id, item), stance in cells.items():
        column = column_of.get(item)
        if column is not None:
            rows.append(row_of[organisation_id])
            columns.append(column)
            values.append(_ENCODE[stance])
    codes = np.full((len(ids), len(items)), _UNANSWERED, dtype=np.int8)
    codes[rows, columns] = values
    return ids, codes


def find_coalitions(
    positions: Mapping[int, Mapping[str, str | None]],
    items: Sequence[str],
    *,
    threshold: float = DISTANCE_THRESHOLD,
    max_profiles: int = MAX_PROFILES,
    min_items: int = MIN_ITEMS,
) -> Grouping:
    """Groups of organisation ids with similar stances (see METHOD); deterministic."""
    cells = {
        (organisation_id, item): stance
        for organisation_id, answers in positions.items()
        for item, stance in answers.items()
    }
    ids, codes = _code_matrix(cells, items)
    grouping = _group(codes, threshold=threshold, max_profiles=max_profiles, min_items=min_items)
    return Grouping(
        groups=[ids[group].tolist() for group in grouping.groups],
        clustered=grouping.clustered,
        too_few_items=grouping.too_few_items,
        not_joined=grouping.not_joined,
    )


def _group(
    codes: np.ndarray,
    *,
    threshold: float = DISTANCE_THRESHOLD,
    max_profiles: int = MAX_PROFILES,
    min_items: int = MIN_ITEMS,
) -> _Clustering:
    """`find_coalitions` over a code matrix; groups are arrays of its row numbers."""
    scored = codes <= _TOP_SCORE
    eligible = np.flatnonzero(scored.sum(axis=1) >= min_items)
    too_few = len(codes) - len(eligible)
    if not len(eligible):
        return _Clustering(groups=[], clustered=0, too_few_items=too_few, not_joined=0)
    answers = np.where(scored[eligible], codes[eligible], _UNANSWERED)
    profiles, inverse, weights = np.unique(answers, axis=0, return_inverse=True, return_counts=True)
    inverse = inverse.reshape(-1)
    first_row = np.full(len(profiles), len(codes), dtype=np.int64)
    np.minimum.at(first_row, inverse, eligible)  # rows are in id order: the earliest organisation
    profile_scored = profiles <= _TOP_SCORE
    order = np.lexsort((first_row, -profile_scored.sum(axis=1), -weights))
    values = np.where(profile_scored, profiles, np.nan)
    core, rest = order[:max_profiles], order[max_profiles:]
    label_of = np.full(len(profiles), -1, dtype=np.int64)
    if len(core) == 1:
        label_of[core] = 0
    else:
        distances = _distances(values[core], values[core])
        np.fill_diagonal(distances, 0.0)
        condensed = squareform(distances, checks=False).astype(np.float64)
        del distances
        tree = linkage(condensed, method="average")
        label_of[core] = fcluster(tree, t=threshold + _EPSILON, criterion="distance") - 1
    not_joined = 0
    if len(rest):
        next_label = int(label_of.max()) + 1
        nearest = _nearest_groups(values[core], label_of[core], values[rest], threshold)
        for profile, label in zip(rest.tolist(), nearest, strict=True):
            if label >= 0:
                label_of[profile] = label
            elif weights[profile] >= 2:  # identical answers are a group of their own
                label_of[profile] = next_label
                next_label += 1
            else:
                not_joined += 1
    row_labels = label_of[inverse]
    by_label = np.argsort(row_labels, kind="stable")
    sorted_labels = row_labels[by_label]
    bounds = np.flatnonzero(np.diff(sorted_labels)) + 1
    groups = [
        eligible[by_label[chunk]]
        for chunk in np.split(np.arange(len(by_label)), bounds)
        if len(chunk) >= 2 and sorted_labels[chunk[0]] >= 0
    ]
    groups.sort(key=lambda group: (-len(group), int(group[0])))
    return _Clustering(
        groups=groups,
        clustered=len(eligible),
        too_few_items=too_few,
        not_joined=not_joined,
    )


def _distances(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Average score gap / SCALE over the items both rows answered (NaN: not answered); 1 where
    fewer than MIN_OVERLAP items are shared. One matrix product: for each score w,
    sum_k |a_k - w| [b_k = w] adds up |a_k - b_k| over the items both answered. Small whole
    numbers are exact in float32, which halves the memory traffic of float64."""
    left_mask, right_mask = ~np.isnan(left), ~np.isnan(right)
    scores = sorted(set(STANCE_SCORES.values()))
    gaps = np.hstack([np.where(left_mask, np.abs(left - w), 0.0) for w in scores])
    matches = np.hstack([right == w for w in scores])
    distances = gaps.astype(np.float32) @ matches.astype(np.float32).T
    overlap = left_mask.astype(np.float32) @ right_mask.astype(np.float32).T
    too_small = overlap < MIN_OVERLAP
    overlap *= SCALE
    overlap[too_small] = 1.0
    distances /= overlap
    distances[too_small] = 1.0
    return distances


def _nearest_groups(
    core: np.ndarray, labels: np.ndarray, rest: np.ndarray, threshold: float
) -> list[int]:
    """For each pattern beyond the cap, the group with the smallest average distance to it, if
    that average is within `threshold` (ties: the lower label), else -1."""
    order = np.argsort(labels, kind="stable")
    sorted_labels = labels[order]
    starts = np.flatnonzero(np.r_[True, sorted_labels[1:] != sorted_labels[:-1]])
    sizes = np.diff(np.r_[starts, len(order)])
    group_labels = sorted_labels[starts]
    core_sorted = core[order]
    nearest: list[int] = []
    for begin in range(0, len(rest), _CHUNK):
        chunk = rest[begin : begin + _CHUNK]
        averages = np.add.reduceat(_distances(chunk, core_sorted), starts, axis=1) / sizes
        best = np.argmin(averages, axis=1)
        best_average = averages[np.arange(len(chunk)), best]
        nearest.extend(
            np.where(best_average <= threshold + _EPSILON, group_labels[best], -1).tolist()
        )
    return nearest


def _coalition(
    group: np.ndarray,
    ids: list[int],
    codes: np.ndarray,
    items: Sequence[str],
    names: Mapping[int, str],
) -> Coalition:
    answers = codes[group]
    # per scored stance (in STANCES order, so that argmax breaks ties the same way), members
    # per item; "no overall position" is no shared stance (see STANCE_SCORES)
    counts = np.stack([(answers == STANCE_SCORES[stance]).sum(axis=0) for stance in SCORED_STANCES])
    answered = counts.sum(axis=0)
    majority = counts.argmax(axis=0)
    shared = {
        item: SharedStance(
            stance=SCORED_STANCES[majority[k]],
            answered=int(answered[k]),
            agreeing=int(counts[majority[k], k]),
        )
        for k, item in enumerate(items)
        if answered[k]
    }
    answered_total = sum(s.answered for s in shared.values())
    agreeing_total = sum(s.agreeing for s in shared.values())
    members = [ids[row] for row in group.tolist()]
    return Coalition(
        members=[(member, names.get(member, "")) for member in members],
        shared=shared,
        cohesion=agreeing_total / answered_total if answered_total else 0.0,
    )
