"""Stance and priority distributions from plain (stance, priority, weight) rows."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

# Held equal to app.vocabulary.STANCES by a test (the analysis imports nothing of the models).
STANCES = ("support", "support_with_amendments", "neutral", "oppose", "no_position")
PRIORITIES = (1, 2, 3, 4, 5)


@dataclass(frozen=True)
class Tally:
    total: int = 0
    stances: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STANCES, 0))
    priorities: dict[int, int] = field(default_factory=lambda: dict.fromkeys(PRIORITIES, 0))

    @property
    def mean_priority(self) -> float | None:
        counted = sum(self.priorities.values())
        if not counted:
            return None
        return sum(p * n for p, n in self.priorities.items()) / counted

    def stance_share(self, stance: str) -> float:
        return self.stances.get(stance, 0) / self.total if self.total else 0.0

    def as_dict(self) -> dict[str, object]:
        return {
            "total": self.total,
            "stances": dict(self.stances),
            "priorities": {str(p): n for p, n in self.priorities.items()},
            "mean_priority": self.mean_priority,
        }


def tally(rows: Iterable[tuple[str | None, int | None, int]]) -> Tally:
    """Count stances and priorities; each row is (stance, priority, how many it stands for)."""
    stances = dict.fromkeys(STANCES, 0)
    priorities = dict.fromkeys(PRIORITIES, 0)
    total = 0
    for stance, priority, weight in rows:
        total += weight
        if stance in stances:
            stances[stance] += weight
        if priority in priorities:
            priorities[priority] += weight
    return Tally(total=total, stances=stances, priorities=priorities)
