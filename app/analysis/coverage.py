"""Coverage of invited organisations: who has not answered which items, and per item the share
of invited organisations that answered it (co-signing counts as answering)."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

SHARE_DIGITS = 6


@dataclass(frozen=True)
class ItemCoverage:
    item: str
    invited: int
    answered: int  # invited organisations that answered the item

    @property
    def share(self) -> float:
        return self.answered / self.invited if self.invited else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "invited": self.invited,
            "answered": self.answered,
            "share": round(self.share, SHARE_DIGITS),
        }


@dataclass(frozen=True)
class MissingAnswers:
    organisation_id: int
    name: str
    items: list[str]  # in the order of the consultation's items

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.organisation_id, "name": self.name, "items": list(self.items)}


@dataclass(frozen=True)
class Coverage:
    items: list[ItemCoverage]
    missing: list[MissingAnswers]  # invited organisations with an item unanswered, by id
    invited: int
    answered_all: int
    answered_none: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "invited": self.invited,
            "answered_all": self.answered_all,
            "answered_none": self.answered_none,
            "items": {entry.item: entry.as_dict() for entry in self.items},
            "missing": [entry.as_dict() for entry in self.missing],
        }


def invitation_coverage(
    invited: Iterable[tuple[int, str]],
    items: Sequence[str],
    answered: Collection[tuple[int, str]],
) -> Coverage:
    """Coverage of `invited` (organisation id, name) over `items` (codes), given the
    (organisation id, item code) pairs answered, co-signing included (see
    `StanceMatrix.answered()`). Organisations invited twice count once."""
    organisations = dict(sorted(dict(invited).items()))
    items = list(dict.fromkeys(items))
    answered_by_item = dict.fromkeys(items, 0)
    missing = []
    answered_none = 0
    for organisation_id, name in organisations.items():
        unanswered = []
        for item in items:
            if (organisation_id, item) in answered:
                answered_by_item[item] += 1
            else:
                unanswered.append(item)
        if unanswered:
            missing.append(MissingAnswers(organisation_id, name, unanswered))
            if len(unanswered) == len(items):
                answered_none += 1
    return Coverage(
        items=[ItemCoverage(item, len(organisations), n) for item, n in answered_by_item.items()],
        missing=missing,
        invited=len(organisations),
        answered_all=len(organisations) - len(missing),
        answered_none=answered_none,
    )
