"""The briefing on a report's first page: what a council member reads in ten minutes, drawn
from the compiled result alone (a pure function: the page and the PDF show the same).

Every number here is one the report's tables also give, under the same definition, and says
which: submissions (every position sent, a campaign's members each counting), organisations
(each submitting organisation once) or distinct positions (each campaign once per item).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

THEMES_PER_ITEM = 3
QUOTES_PER_THEME = 2
AMENDMENTS = 5
COALITIONS = 3
TYPES = 5  # organisation types named; the rest are counted together
COUNTRIES = 6
# An item is divided when no stance holds this share of its positions with a stance.
DIVIDED_BELOW = 0.6


def briefing(result: Mapping[str, Any]) -> dict[str, Any]:
    """The executive summary of `result` (a compiled report): who took part, each item's
    balance and main themes, the amendments most asked for, where organisations agree and
    where they split, and what changed since the last report."""
    from app.reports.charts import STANCE_COLOURS  # matplotlib: only once a report is drawn

    figures = result["figures"]
    return {
        "colours": STANCE_COLOURS,
        "participation": participation(figures),
        "items": [
            item_briefing(code, figures, result.get("themes") or {})
            for code in result.get("items", [])
        ],
        "amendments": top_amendments(result.get("amendments") or {}),
        "coalitions": (result.get("coalitions") or {}).get("coalitions", [])[:COALITIONS],
        "divided": divided_items(figures),
        "changes": changes(result.get("comparison")),
    }


def participation(figures: Mapping[str, Any]) -> dict[str, Any]:
    headline = figures["headline"]
    participants = figures.get("participants") or {}
    return {
        "submissions": headline["submissions"],
        "organisations": headline["organisations"]["submitting"],
        "verified": headline["organisations"]["verified"],
        "unverified": headline["organisations"]["unverified"],
        "with_cosigners": headline["organisations"]["with_cosigners"],
        "types": _first(participants.get("by_organisation_type") or {}, TYPES),
        "countries": _first(participants.get("by_country") or {}, COUNTRIES),
        "campaigns": headline["campaigns"],
        "campaign_members": headline["campaign_members"],
        "own_positions": headline["own_positions"],
        "distinct_positions": headline["distinct_positions"],
    }


def _first(counts: Mapping[str, int], shown: int) -> dict[str, Any]:
    """The `shown` largest groups and how many organisations the others hold together."""
    ordered = list(counts.items())
    return {
        "shown": dict(ordered[:shown]),
        "others": sum(n for _group, n in ordered[shown:]),
        "groups": len(ordered),
    }


def item_briefing(
    code: str, figures: Mapping[str, Any], themes: Mapping[str, Any]
) -> dict[str, Any]:
    """An item's balance of positions (submissions) and its largest themes, each with its
    share of the item's submissions with text and its first quotes."""
    entry = (figures["distributions"].get("items") or {}).get(code)
    overall = entry["overall"] if entry else {"total": 0, "stances": {}, "stance_shares": {}}
    distinct = (figures.get("distinct_positions", {}).get("items") or {}).get(code) or {}
    by_id = {
        theme["id"]: theme
        for section in (themes.get("languages") or {}).values()
        for theme in section["themes"]
    }
    groups = [g for g in themes.get("groups") or [] if g.get("item") == code]
    return {
        "code": code,
        "total": overall["total"],
        "stances": overall["stances"],
        "shares": overall["stance_shares"],
        "mean_priority": overall.get("mean_priority"),
        "distinct_total": distinct.get("total", 0),
        "themes": [_theme(group, by_id) for group in groups[:THEMES_PER_ITEM]],
        "more_themes": max(0, len(groups) - THEMES_PER_ITEM),
    }


def _theme(group: Mapping[str, Any], by_id: Mapping[str, Any]) -> dict[str, Any]:
    """A theme as the briefing shows it: its best quote, and a second one in another
    language when the theme holds several (page one stays short)."""
    members = [by_id[member] for member in group["themes"] if member in by_id]
    quotes = [
        {**theme["quotes"][0], "language": theme["language"]}
        for theme in members[:QUOTES_PER_THEME]
        if theme["quotes"]
    ]
    return {
        "id": group["id"],
        "terms": group["terms"][:5],
        "languages": group["languages"],
        "share": group["share"],
        "size": group["size"],
        "quotes": quotes,
    }


def top_amendments(amendments: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The amendment themes asked for by the most submissions, across items."""
    by_id = {
        theme["id"]: theme
        for section in (amendments.get("languages") or {}).values()
        for theme in section["themes"]
    }
    groups = sorted(amendments.get("groups") or [], key=lambda g: (-g["size"], g["id"]))
    return [{**_theme(g, by_id), "item": g.get("item")} for g in groups[:AMENDMENTS]]


def divided_items(figures: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Items whose submissions split: no stance holds DIVIDED_BELOW of those with a stance;
    with the two largest stances and their shares of those."""
    divided = []
    for code, entry in (figures["distributions"].get("items") or {}).items():
        stances = entry["overall"]["stances"]
        stated = sum(stances.values())
        if stated < 2:
            continue
        leading = sorted(stances.items(), key=lambda e: (-e[1], e[0]))[:2]
        if leading[0][1] / stated < DIVIDED_BELOW:
            divided.append(
                {
                    "code": code,
                    "stated": stated,
                    "leading": [
                        {"stance": s, "count": n, "share": round(n / stated, 4)} for s, n in leading
                    ],
                }
            )
    return divided


def changes(comparison: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """What moved since the last report: the counts and the largest shift of a stance."""
    if not comparison:
        return None
    shifts = (comparison.get("stance_shifts") or {}).get("items") or {}
    largest = _largest_shift(shifts)
    return {
        "finished_at": comparison["finished_at"],
        "submissions": comparison["submissions"],
        "organisations": comparison["organisations"],
        "campaigns": comparison["campaigns"],
        "new_campaigns": len(comparison.get("new_campaigns") or []),
        "new_items": comparison.get("new_items") or [],
        "largest_shift": largest,
    }


def _largest_shift(shifts: Mapping[str, Mapping[str, float]]) -> dict[str, Any] | None:
    found: Sequence[tuple[float, str, str]] = sorted(
        (-abs(points), code, stance)
        for code, by_stance in shifts.items()
        for stance, points in by_stance.items()
        if points
    )
    if not found:
        return None
    _size, code, stance = found[0]
    return {"item": code, "stance": stance, "points": shifts[code][stance]}
