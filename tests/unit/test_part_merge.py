"""Fan-in of per-item text analyses, and the distinct texts that feed them."""

from __future__ import annotations

from datetime import UTC, datetime

from app.analysis.distinct_texts import DistinctTexts
from app.analysis.part_merge import merge_summaries, merge_themes
from app.analysis.records import Submission


def theme(theme_id: str, size: int, terms: list[str]) -> dict:
    return {"id": theme_id, "language": "es", "terms": terms, "size": size, "quotes": []}


def test_themes_of_every_item_are_kept_tagged_and_counted():
    p1 = {
        "method": {"name": "tfidf-nmf"},
        "languages": {"es": {"texts": 3, "submissions": 10, "themes": [theme("t1", 10, ["visa"])]}},
        "other_languages": {"und": {"texts": 1, "submissions": 1}},
    }
    p2 = {
        "method": {"name": "tfidf-nmf"},
        "languages": {
            "es": {"texts": 2, "submissions": 40, "themes": [theme("t1", 40, ["asilo"])]},
            "fr": {"texts": 1, "submissions": 1, "themes": [theme("t1", 1, ["asile"])]},
        },
        "other_languages": {"und": {"texts": 2, "submissions": 5}},
    }
    merged = merge_themes([("P1", p1), ("P2", p2)])
    spanish = merged["languages"]["es"]
    assert [(t["item"], t["id"], t["size"]) for t in spanish["themes"]] == [
        ("P2", "P2-t1", 40),
        ("P1", "P1-t1", 10),
    ]
    assert spanish["texts"] == 5 and spanish["submissions"] == 50
    assert merged["languages"]["fr"]["themes"][0]["terms"] == ["asile"]
    assert merged["other_languages"]["und"] == {"texts": 3, "submissions": 6}
    assert merged["method"] == {"name": "tfidf-nmf"}


def sentence(text: str, count: int) -> dict:
    return {"text": text, "language": "en", "submission_ids": [1], "submission_count": count}


def test_the_summary_gives_each_item_its_best_sentence_then_the_most_carried():
    parts = [
        ("P1", {"sentences": [sentence("a", 5), sentence("b", 900)], "languages": {}}),
        ("P2", {"sentences": [sentence("c", 50)], "languages": {}}),
        ("P3", {"sentences": [sentence("d", 1), sentence("e", 3)], "languages": {}}),
    ]
    merged = merge_summaries(parts, sentences=4)
    assert [(s["item"], s["text"]) for s in merged["sentences"]] == [
        ("P2", "c"),
        ("P1", "a"),
        ("P3", "d"),
        ("P1", "b"),
    ]
    assert [s["text"] for s in merge_summaries(parts, sentences=2)["sentences"]] == ["c", "a"]


def row(row_id: int, comment: str, campaign: str | None = None, amendment: str = "") -> Submission:
    return Submission(
        id=row_id,
        reference=f"FB-{row_id}",
        item_code="P1",
        organization_id=row_id,
        organization_name=f"Org {row_id}",
        organization_type="ngo",
        country="MX",
        verified=True,
        stance="support",
        priority=3,
        populations=(),
        language="es",
        comment=comment,
        amendment=amendment,
        submitted_at=datetime(2026, 11, 1, tzinfo=UTC),
        campaign_key=campaign,
    )


def test_campaign_copies_and_exact_repeats_become_one_weighted_text():
    texts = DistinctTexts(max_ids=2)
    texts.add(row(1, "Queremos visas de trabajo.", campaign="7"))
    texts.add(row(2, "Queremos visas de trabajo, gracias.", campaign="7"))
    texts.add(row(3, "Queremos visas de trabajo!", campaign="7"))
    texts.add(row(4, "Reunificación  familiar ya."))
    texts.add(row(5, "reunificacion familiar ya.", amendment="Añadir plazos."))
    texts.add(row(6, "Otra cosa."))
    comments = sorted(texts.comments(), key=lambda entry: entry[2])
    assert comments == [
        ("Queremos visas de trabajo.", 3, [1, 2], "es"),  # ids capped, weight counts all
        ("Reunificación  familiar ya.", 2, [4, 5], "es"),
        ("Otra cosa.", 1, [6], "es"),
    ]
    assert list(texts.amendments()) == [("Añadir plazos.", 1, [5], "es")]
    assert texts.counts == {"comments": 3, "amendments": 1}


def test_distinct_texts_do_not_depend_on_the_order_of_the_rows():
    rows = [row(i, f"Campaign text, copy {i}.", campaign="9") for i in range(10, 0, -1)]
    rows += [row(20 + i, "Same words.") for i in range(5)]
    forward, backward = DistinctTexts(max_ids=3), DistinctTexts(max_ids=3)
    for one in rows:
        forward.add(one)
    for one in reversed(rows):
        backward.add(one)
    assert sorted(forward.comments()) == sorted(backward.comments())
    assert sorted(forward.comments())[0] == ("Campaign text, copy 1.", 10, [1, 2, 3], "es")


def test_merged_groups_name_their_items_themes_and_sum_other_and_totals():
    first = {
        "languages": {"en": {"themes": [{"id": "theme-en-1", "group": "theme-1", "size": 3}]}},
        "groups": [{"id": "theme-1", "themes": ["theme-en-1"], "size": 3, "share": 0.75}],
        "other": {"texts": 1, "submissions": 1, "share": 0.25},
        "total": {"texts": 3, "submissions": 4},
    }
    second = {
        "languages": {"es": {"themes": [{"id": "theme-es-1", "group": "theme-1", "size": 2}]}},
        "groups": [{"id": "theme-1", "themes": ["theme-es-1"], "size": 2, "share": 1.0}],
        "other": {"texts": 0, "submissions": 0, "share": 0.0},
        "total": {"texts": 2, "submissions": 2},
    }

    merged = merge_themes([("P1", first), ("P2", second)])

    assert [g["id"] for g in merged["groups"]] == ["P1-theme-1", "P2-theme-1"]
    assert [g["themes"] for g in merged["groups"]] == [["P1-theme-en-1"], ["P2-theme-es-1"]]
    assert [g["share"] for g in merged["groups"]] == [0.75, 1.0]  # of their own item's texts
    assert merged["languages"]["en"]["themes"][0]["group"] == "P1-theme-1"
    assert merged["other"] == {"texts": 1, "submissions": 1, "share": round(1 / 6, 4)}
    assert merged["total"] == {"texts": 5, "submissions": 6}
    assert merged["by_item"]["P2"]["total"] == {"texts": 2, "submissions": 2}
