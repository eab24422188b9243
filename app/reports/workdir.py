"""Where a report's parts leave their work for one another, under the report's directory:
each part's CSV lines, the distinct texts of a part for the one that analyses its item, and
each item's text themes for the CSV. All of it goes once the report is finished."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from flask import current_app

from app.reports.storage import report_directory


def directory(report_id: int) -> Path:
    return report_directory(Path(current_app.config["SETTINGS"].instance_path), report_id)


def parts(report_id: int) -> Path:
    return directory(report_id) / "parts"


def csv_part(report_id: int, name: str) -> Path:
    """Where a part writes its CSV lines, until the report's CSV joins them."""
    return parts(report_id) / f"{name}.csv"


def themes_file(report_id: int, item_id: int) -> Path:
    """Where the part that analyses an item's texts leaves each text's theme for the CSV (an
    item report's `compile_item` writes there too: beside its part "item-<id>")."""
    return parts(report_id) / f"item-{item_id}.themes.json"


def texts_file(report_id: int, part_id: int) -> Path:
    """Where a part leaves its distinct texts for the one that analyses its item's texts."""
    return parts(report_id) / f"part-{part_id}.texts.json"


def assignments(
    report_id: int, items: Iterable[tuple[int, str]]
) -> list[tuple[str, dict[str, str]]]:
    """For each (item id, item code), the code and its texts' themes ({marker: theme id});
    read once per item, empty where the item had no text to analyse."""
    read: dict[int, dict[str, str]] = {}
    found = []
    for item_id, code in items:
        if item_id not in read:
            path = themes_file(report_id, item_id)
            read[item_id] = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
        found.append((code, read[item_id]))
    return found
