"""SVG charts of a report (stances overall and per item, the timeline), drawn with matplotlib.

Charts are drawn with the object API on the Agg/SVG canvas (no pyplot state shared between
threads) under fixed settings, so the same result gives byte-identical SVG: the hash salt fixes
the element ids and no date goes into the metadata. Text stays text (`svg.fonttype: none`), so a
chart is small and its words can be searched and read by assistive technology.
"""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

import matplotlib

matplotlib.use("Agg")

from matplotlib.backends.backend_svg import FigureCanvasSVG  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import MaxNLocator, PercentFormatter  # noqa: E402

from app.vocabulary import STANCES, stance_label  # noqa: E402

# Okabe-Ito colours: told apart with the common colour vision deficiencies.
STANCE_COLOURS = {
    "support": "#0072B2",
    "support_with_amendments": "#56B4E9",
    "neutral": "#999999",
    "oppose": "#D55E00",
    # Not a shade of neutral's grey: stating no overall position is not a neutral position.
    "no_position": "#CC79A7",
}
RC = {
    "svg.hashsalt": "consulta-report",
    "svg.fonttype": "none",
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans"],
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": 10,
    "path.simplify": True,
    "figure.dpi": 72,
}
METADATA = {"Date": None, "Creator": None}
MAX_TIMELINE_TICKS = 8


def _svg(figure: Figure) -> str:
    buffer = io.StringIO()
    with matplotlib.rc_context(RC):
        FigureCanvasSVG(figure).print_svg(buffer, metadata=METADATA)
    return buffer.getvalue()


def data_uri(svg: str) -> str:
    """The chart as a `data:` URL for an `<img src>` (the CSP allows `img-src data:`)."""
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode("ascii")


def stance_chart(stances: Mapping[str, int], title: str, labels: Mapping[str, str]) -> str:
    """Horizontal bars, one per stance, with the count at the end of each bar."""
    with matplotlib.rc_context(RC):
        figure = Figure(figsize=(6, 2.2))
        axes = figure.add_subplot()
        names = [labels.get(s, s) for s in STANCES]
        values = [int(stances.get(s, 0)) for s in STANCES]
        bars = axes.barh(names, values, color=[STANCE_COLOURS[s] for s in STANCES])
        axes.bar_label(bars, padding=3)
        axes.invert_yaxis()
        axes.set_title(title, loc="left")
        axes.set_xlim(0, max([*values, 1]) * 1.15)
        axes.xaxis.set_visible(False)
        axes.spines["bottom"].set_visible(False)
        figure.tight_layout()
        return _svg(figure)


def items_chart(
    items: Mapping[str, Mapping[str, int]], title: str, labels: Mapping[str, str]
) -> str:
    """One stacked bar per item: the share of each stance among the item's positions."""
    codes = list(items)
    with matplotlib.rc_context(RC):
        figure = Figure(figsize=(6, 1.6 + 0.3 * max(len(codes), 1)))
        axes = figure.add_subplot()
        left = [0.0] * len(codes)
        for stance in STANCES:
            shares = []
            for code in codes:
                counts = items[code]
                total = sum(counts.get(s, 0) for s in STANCES)
                shares.append(100 * counts.get(stance, 0) / total if total else 0.0)
            axes.barh(
                codes, shares, left=left, color=STANCE_COLOURS[stance], label=labels.get(stance)
            )
            left = [a + b for a, b in zip(left, shares, strict=True)]
        axes.invert_yaxis()
        axes.set_xlim(0, 100)
        axes.xaxis.set_major_formatter(PercentFormatter())
        axes.set_title(title, loc="left")
        axes.legend(loc="upper left", bbox_to_anchor=(0, -0.12), ncol=2, frameon=False)
        figure.tight_layout()
        return _svg(figure)


def timeline_chart(timeline: Sequence[Mapping[str, Any]], title: str, ylabel: str) -> str:
    """Submissions per day, as bars (a day without submissions is a gap, not a missing bar)."""
    days = [entry["date"] for entry in timeline]
    totals = [int(entry["total"]) for entry in timeline]
    with matplotlib.rc_context(RC):
        figure = Figure(figsize=(6, 2.4))
        axes = figure.add_subplot()
        positions = list(range(len(days)))
        axes.bar(positions, totals, color="#0b5394", width=0.8)
        step = max(1, -(-len(days) // MAX_TIMELINE_TICKS))
        axes.set_xticks(positions[::step], days[::step])
        axes.tick_params(axis="x", labelrotation=30)
        axes.set_ylabel(ylabel)
        axes.yaxis.set_major_locator(MaxNLocator(integer=True))
        axes.set_ylim(0, max([*totals, 1]) * 1.1)
        axes.set_title(title, loc="left")
        figure.tight_layout()
        return _svg(figure)


def report_charts(result: Mapping[str, Any], texts: Mapping[str, Any]) -> dict[str, str]:
    """The report's charts as SVG strings: "stances", "items" (when there are several items
    with positions) and "timeline" (when there is one). `texts` holds the translated titles
    and stance labels: {"stances": ..., "items": ..., "timeline": ..., "per_day": ...,
    "labels": {stance: label}}."""
    figures = result.get("figures") or {}
    overall = (figures.get("distributions") or {}).get("overall") or {}
    per_item = {
        code: entry["overall"]["stances"]
        for code, entry in ((figures.get("distributions") or {}).get("items") or {}).items()
    }
    timeline = figures.get("timeline") or []
    key = json.dumps(
        [overall.get("stances"), per_item, timeline, texts], sort_keys=True, default=str
    )
    return dict(_cached_charts(key))


@lru_cache(maxsize=64)
def _cached_charts(key: str) -> tuple[tuple[str, str], ...]:
    """Charts for one (data, language): a report page is viewed many times and never changes."""
    stances, per_item, timeline, texts = json.loads(key)
    labels = texts["labels"]
    charts = {"stances": stance_chart(stances or {}, texts["stances"], labels)}
    if len(per_item) > 1:
        charts["items"] = items_chart(per_item, texts["items"], labels)
    if timeline:
        charts["timeline"] = timeline_chart(timeline, texts["timeline"], texts["per_day"])
    return tuple(charts.items())


def chart_images(result: Mapping[str, Any]) -> dict[str, dict[str, str]]:
    """The charts of `result` in the reader's language, ready for `<img src=... alt=...>`: a
    `data:` URL and a text alternative that states the same numbers."""
    from flask_babel import gettext as _

    labels = {stance: stance_label(stance) for stance in STANCES}
    texts = {
        "stances": _("Stances, all submissions"),
        "items": _("Stances by item (share of submissions)"),
        "timeline": _("Submissions per day"),
        "per_day": _("Submissions"),
        "labels": labels,
    }
    svgs = report_charts(result, texts)
    figures = result.get("figures") or {}
    distributions = figures.get("distributions") or {}

    def listing(stances: Mapping[str, int]) -> str:
        return ", ".join(f"{labels[s]} {stances.get(s, 0)}" for s in STANCES)

    alts = {
        "stances": _(
            "Bar chart of the stances of %(n)s submissions: %(stances)s.",
            n=(distributions.get("overall") or {}).get("total", 0),
            stances=listing((distributions.get("overall") or {}).get("stances") or {}),
        )
    }
    if "items" in svgs:
        alts["items"] = _(
            "Stacked bar chart of the stances on each item: %(items)s.",
            items="; ".join(
                f"{code}: {listing(entry['overall']['stances'])}"
                for code, entry in distributions["items"].items()
            ),
        )
    if "timeline" in svgs:
        timeline = figures["timeline"]
        peak = max(timeline, key=lambda entry: entry["total"])
        alts["timeline"] = _(
            "Bar chart of submissions per day from %(first)s to %(last)s; the most, %(peak)s, "
            "on %(day)s. The table below lists every day.",
            first=timeline[0]["date"],
            last=timeline[-1]["date"],
            peak=peak["total"],
            day=peak["date"],
        )
    return {name: {"src": data_uri(svg), "alt": alts[name]} for name, svg in svgs.items()}
