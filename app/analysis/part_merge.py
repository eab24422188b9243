"""Fan-in of a consultation report: the per-item text analyses merged into one.

Each part (one item) holds the `find_themes`, `group_amendments` and `summarise` results of
that item's texts. The consultation's themes are every item's themes, each tagged with its
item; its summary keeps the sentences that the most submissions carry, across items, with at
least one sentence per item while there is room.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

SUMMARY_SENTENCES = 8
_LANGUAGE_COUNTS = (
    "texts",
    "submissions",
    "sampled_texts",
    "unassigned_texts",
    "unassigned_submissions",
)


def merge_themes(parts: Sequence[tuple[str, Mapping[str, Any]]]) -> dict[str, Any]:
    """(item code, themes result) per part -> one themes result, themes and groups tagged by
    item (ids "<item>-<id>"; shares stay those of their item's texts), "other" and "total"
    summed, with "by_item" keeping each item's own "other" and "total"."""
    merged: dict[str, Any] = {
        "method": None,
        "languages": {},
        "other_languages": {},
        "groups": [],
        "other": {"texts": 0, "submissions": 0},
        "total": {"texts": 0, "submissions": 0},
        "by_item": {},
    }
    for item, result in parts:
        merged["method"] = merged["method"] or result.get("method")
        for language, section in result.get("languages", {}).items():
            into = merged["languages"].setdefault(language, {"themes": []})
            for key in _LANGUAGE_COUNTS:
                if key in section:
                    into[key] = into.get(key, 0) + section[key]
            into["themes"].extend(
                {
                    **theme,
                    "item": item,
                    "id": f"{item}-{theme['id']}",
                    **({"group": f"{item}-{theme['group']}"} if "group" in theme else {}),
                }
                for theme in section.get("themes", [])
            )
        merged["groups"].extend(
            {
                **group,
                "item": item,
                "id": f"{item}-{group['id']}",
                "themes": [f"{item}-{theme}" for theme in group["themes"]],
            }
            for group in result.get("groups", [])
        )
        for key in ("other", "total"):
            for count in ("texts", "submissions"):
                merged[key][count] += result.get(key, {}).get(count, 0)
        merged["by_item"][item] = {
            "other": result.get("other", {}),
            "total": result.get("total", {}),
        }
        for language, counts in result.get("other_languages", {}).items():
            into = merged["other_languages"].setdefault(language, {})
            for key, value in counts.items():
                into[key] = into.get(key, 0) + value
    for section in merged["languages"].values():
        section["themes"].sort(key=lambda theme: (-theme["size"], theme["id"]))
    total = merged["total"]["submissions"]
    merged["other"]["share"] = round(merged["other"]["submissions"] / total, 4) if total else 0.0
    return merged


def merge_summaries(
    parts: Sequence[tuple[str, Mapping[str, Any]]], sentences: int = SUMMARY_SENTENCES
) -> dict[str, Any]:
    """(item code, summary result) per part -> one summary of at most `sentences` sentences."""
    method = next((result.get("method") for _item, result in parts if result.get("method")), None)
    languages: dict[str, dict[str, int]] = {}
    candidates = []
    for order, (item, result) in enumerate(parts):
        for language, counts in result.get("languages", {}).items():
            into = languages.setdefault(language, {})
            for key, value in counts.items():
                into[key] = into.get(key, 0) + value
        for rank, sentence in enumerate(result.get("sentences", [])):
            candidates.append((rank, order, {**sentence, "item": item}))
    # Each item's best sentence first (while there is room), then by how many carry it.
    firsts = sorted(
        (c for c in candidates if c[0] == 0), key=lambda c: (-c[2]["submission_count"], c[1])
    )
    rest = sorted(
        (c for c in candidates if c[0] > 0),
        key=lambda c: (-c[2]["submission_count"], c[1], c[0]),
    )
    chosen = [c[2] for c in (firsts + rest)[:sentences]]
    return {"method": method, "languages": languages, "sentences": chosen}
