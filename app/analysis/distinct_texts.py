"""Distinct texts of a report, collected one streamed `Submission` at a time.

Heavy text work (themes, summary) runs on distinct texts only: a campaign's members share one
entry (the text of its lowest-id member, weighted by the campaign's size), and exact repeats of
a text (after folding case, accents and spacing) share one entry too. Each entry keeps the
lowest submission ids that carry it (a bounded number) plus the full count as its weight, so
a million submissions that are mostly campaign copies become far fewer entries. The result
does not depend on the order of the rows.
"""

from __future__ import annotations

import hashlib
import heapq
import re
import unicodedata
from collections.abc import Iterator

from app.analysis.records import Submission

_COMBINING = re.compile(r"[\u0300-\u036f]")  # the accents NFKD splits off
MAX_IDS = 100  # submission ids kept per distinct text; the weight counts them all


class DistinctTexts:
    """Distinct comments and amendments: `add()` every row, then read `comments()` and
    `amendments()` as (text, weight, submission ids, language) tuples."""

    def __init__(self, max_ids: int = MAX_IDS) -> None:
        self.max_ids = max_ids
        # key -> [text, weight, ids, language]
        self._comments: dict[object, list] = {}
        self._amendments: dict[object, list] = {}

    def add(self, row: Submission) -> str | None:
        """Count the row's comment and amendment; the marker of its comment's entry (see
        `marker`), None without a comment."""
        comment = None
        if row.comment:
            comment = self._collect(self._comments, row, row.comment, "c")
        if row.amendment:
            self._collect(self._amendments, row, row.amendment, "a")
        return None if comment is None else marker(comment)

    def _collect(
        self, entries: dict[object, list], row: Submission, text: str, kind: str
    ) -> object:
        key = (kind, row.item_code, row.campaign_key) if row.campaign_key else _fingerprint(text)
        entry = entries.get(key)
        row_id = row.id
        if entry is None:
            # [text, weight, max-heap of the lowest ids (negated), language, lowest id]
            entries[key] = [text, 1, [-row_id], row.language, row_id]
            return key
        entry[1] += 1
        if row_id < entry[4]:  # the lowest id speaks for the group, whatever the order
            entry[0], entry[3], entry[4] = text, row.language, row_id
        ids = entry[2]
        if len(ids) < self.max_ids:
            heapq.heappush(ids, -row_id)
        elif -ids[0] > row_id:
            heapq.heapreplace(ids, -row_id)
        return key

    def state(self) -> dict[str, list]:
        """Plain JSON: every entry, for `merge` by the part that analyses an item's texts."""
        return {
            name: [
                [_key_state(key), *entry[:2], entry[2], *entry[3:]] for key, entry in found.items()
            ]
            for name, found in (("comments", self._comments), ("amendments", self._amendments))
        }

    def merge(self, state: dict[str, list]) -> DistinctTexts:
        """Add another collector's `state()`: the same entries as if its rows had been
        `add()`ed here."""
        for name, found in (("comments", self._comments), ("amendments", self._amendments)):
            for key_state, text, weight, ids, language, lowest in state[name]:
                key = _key_of(key_state)
                entry = found.get(key)
                if entry is None:
                    found[key] = [text, weight, ids, language, lowest]
                    continue
                entry[1] += weight
                if lowest < entry[4]:
                    entry[0], entry[3], entry[4] = text, language, lowest
                kept = heapq.nsmallest(self.max_ids, [-i for i in entry[2]] + [-i for i in ids])
                entry[2] = [-i for i in kept]
                heapq.heapify(entry[2])
        return self

    def comments(self) -> Iterator[tuple[str, int, list[int], str | None]]:
        return _entries(self._comments)

    def amendments(self) -> Iterator[tuple[str, int, list[int], str | None]]:
        return _entries(self._amendments)

    def comment_markers(self) -> list[str]:
        """The `marker` of each comment entry, in the order of `comments()`."""
        ordered = sorted(self._comments.items(), key=lambda item: item[1][4])
        return [marker(key) for key, _entry in ordered]

    @property
    def counts(self) -> dict[str, int]:
        return {"comments": len(self._comments), "amendments": len(self._amendments)}


def _entries(entries: dict[object, list]) -> Iterator[tuple[str, int, list[int], str | None]]:
    """By lowest id: the same order however the rows came (or the parts were merged)."""
    for text, weight, ids, language, _lowest in sorted(entries.values(), key=lambda e: e[4]):
        yield text, weight, sorted(-i for i in ids), language


def marker(key: object) -> str:
    """A short text naming an entry in every part of a report: its fingerprint in hex, or
    "k" and the campaign key (one item's rows are in one part or in parts of that item)."""
    if isinstance(key, bytes):
        return key.hex()
    return f"k{key[2]}"


def _key_state(key: object) -> list:
    if isinstance(key, bytes):
        return ["text", key.hex()]
    return ["campaign", *key]  # (kind, item code, campaign key)


def _key_of(state: list) -> object:
    if state[0] == "text":
        return bytes.fromhex(state[1])
    return tuple(state[1:])


def _fingerprint(text: str) -> bytes:
    """The same for texts that differ only in case, accents or spacing."""
    folded = unicodedata.normalize("NFKD", text.casefold())
    plain = " ".join(_COMBINING.sub("", folded).split())
    return hashlib.blake2b(plain.encode("utf-8"), digest_size=16).digest()
