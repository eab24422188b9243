"""Themes cover every text: cleaned input, every language, one theme or "other" each, groups
across languages."""

from __future__ import annotations

import pytest

from app.analysis.cleaning import clean_text, links
from app.analysis.theme_groups import Evidence, evidence_score, group_themes, names_in
from app.analysis.themes import OTHER, find_themes
from tests.helpers.theme_texts import VISAS_ES, corpus

WORK_DE = [
    "Saisonarbeiter brauchen längere Arbeitsvisa für die Landwirtschaft.",
    "Die Arbeitsvisa für Saisonarbeiter sollten ohne Ausreise verlängert werden.",
    "Wir fordern mehr Arbeitsvisa für Saisonarbeiter im Bau und im Tourismus.",
    "Viele Saisonarbeiter warten monatelang auf ihre Arbeitsvisa.",
]
FAMILY_DE = [
    "Die Familienzusammenführung dauert Jahre und trennt Kinder von ihren Eltern.",
    "Die Familienzusammenführung muss für Ehepartner und Kinder schneller gehen.",
    "Großeltern, die Enkelkinder betreuen, gehören zur Familienzusammenführung.",
    "Die Einkommensgrenzen der Familienzusammenführung sind zu hoch für Familien.",
]
WORK_IT = [
    "I lavoratori stagionali hanno bisogno di visti di lavoro più lunghi.",
    "I visti di lavoro stagionali dovrebbero essere rinnovati senza uscire dal paese.",
    "Chiediamo più visti di lavoro per i lavoratori stagionali in agricoltura.",
    "Molti lavoratori stagionali aspettano mesi per i visti di lavoro.",
]
SCHOOL_IT = [
    "I bambini migranti devono essere iscritti a scuola subito.",
    "La scuola pubblica non ha insegnanti formati per i bambini migranti.",
    "Ogni scuola dovrebbe offrire corsi di lingua ai bambini migranti.",
    "Troppi bambini migranti lasciano la scuola senza sostegno.",
]
ASYLUM_PT = [
    "Os pedidos de asilo demoram anos nas fronteiras do norte.",
    "Quem pede asilo precisa de um advogado gratuito na fronteira.",
    "O processo de asilo deve ser mais rápido para as famílias.",
    "Os centros de asilo na fronteira estão lotados.",
]
HEALTH_PT = [
    "Os migrantes não têm acesso ao hospital público sem documentos.",
    "O hospital deve atender migrantes grávidas sem pedir documentos.",
    "Faltam intérpretes no hospital para atender os migrantes.",
    "A vacinação dos migrantes no hospital deve ser gratuita.",
]
REUNIFICATION = {
    "en": [
        "Family reunification takes years; see https://www.unhcr.org/family for UNHCR data.",
        "Speed up family reunification for spouses and children, as UNHCR asks.",
        "Family reunification separates children from their parents for years.",
        "The income rules of family reunification are too strict for families.",
    ],
    "es": [
        "La reunificación familiar tarda años; ver https://unhcr.org/family y datos de UNHCR.",
        "Acelerar la reunificación familiar de cónyuges e hijos, como pide UNHCR.",
        "La reunificación familiar separa a los niños de sus padres durante años.",
        "Los requisitos de ingresos de la reunificación familiar son demasiado altos.",
    ],
    "fr": [
        "La réunification familiale prend des années ; voir https://www.unhcr.org/family (UNHCR).",
        "Accélérer la réunification familiale des conjoints et enfants, comme le demande UNHCR.",
        "La réunification familiale sépare les enfants de leurs parents pendant des années.",
        "Les conditions de revenus de la réunification familiale sont trop strictes.",
    ],
}


def all_terms(result):
    return {
        term
        for entry in result["languages"].values()
        for theme in entry["themes"]
        for term in theme["terms"]
    }


# --- cleaning --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "cleaned"),
    [
        ("<p>We need <b>visas</b></p><script>alert(1)</script>", "We need visas"),
        ("Name: [redacted], ███ and XXXX agree.", "Name: , and agree."),
        ("Write to ana@example.org or +52 55 1234 5678.", "Write to or ."),
        ("See https://www.unhcr.org/x and [IOM](https://iom.int).", "See and IOM."),
        ("**Very** _important_\n\n\n> quoted", "Very important\nquoted"),
        ("Since 2021-05-12, 3 of 4 & more", "Since 2021-05-12, 3 of 4 & more"),
        ("", ""),
    ],
)
def test_cleaning_keeps_the_writers_words_only(text, cleaned):
    assert clean_text(text) == cleaned


def test_links_are_the_sites_a_text_points_to():
    assert links("See https://www.unhcr.org/a, www.iom.int and http://[::1") == {
        "unhcr.org",
        "iom.int",
    }


def test_markup_redactions_addresses_and_links_never_become_theme_words():
    noise = " [redacted] <script>alert('x')</script> write to jo@gmail.com https://example.com/p"
    texts = corpus([text + noise for text in VISAS_ES + REUNIFICATION["es"]], "es")

    terms = all_terms(find_themes(texts))

    assert terms & {"redacted", "script", "alert", "gmail", "com", "https", "example"} == set()
    assert {"visas", "reunificación"} <= terms


# --- every text in one theme or "other" ------------------------------------------------------


def test_every_text_is_in_exactly_one_theme_or_other_and_the_shares_add_up():
    texts = (
        corpus(VISAS_ES, "es")
        + corpus(REUNIFICATION["es"], "es", first_id=10)
        + [("ok", 5, [20, 21, 22, 23, 24], None), ("<b></b>", 1, [30], "en")]
        + [("Y de la que el en los.", 2, [31, 32], "es")]
    )
    result = find_themes(texts)

    assert len(result["assignment"]) == len(texts)
    assert result["assignment"][-3:] == [OTHER, OTHER, OTHER]
    by_group = {}
    for (_text, weight, _ids, _language), group in zip(texts, result["assignment"], strict=True):
        by_group[group] = by_group.get(group, 0) + weight
    assert {g["id"]: g["size"] for g in result["groups"]} == {
        g: n for g, n in by_group.items() if g != OTHER
    }
    assert result["other"]["submissions"] == by_group[OTHER] == 8
    assert result["total"] == {"texts": 11, "submissions": 16}
    shares = [g["share"] for g in result["groups"]] + [result["other"]["share"]]
    assert sum(shares) == pytest.approx(1, abs=1e-3)
    for entry in result["languages"].values():
        for theme in entry["themes"]:
            assert theme["share"] == round(theme["size"] / 16, 4)


@pytest.mark.parametrize(
    ("language", "first", "second", "term_one", "term_two"),
    [
        ("de", WORK_DE, FAMILY_DE, "arbeitsvisa", "familienzusammenführung"),
        ("it", WORK_IT, SCHOOL_IT, "lavoro", "scuola"),
        ("pt", ASYLUM_PT, HEALTH_PT, "asilo", "hospital"),
    ],
)
def test_german_italian_and_portuguese_get_their_own_themes(
    language, first, second, term_one, term_two
):
    result = find_themes(corpus(first, language) + corpus(second, language, first_id=10))

    themes = result["languages"][language]["themes"]
    assert len(themes) == 2
    assert [term_one in t["terms"] for t in themes].count(True) == 1
    assert [term_two in t["terms"] for t in themes].count(True) == 1
    # Each subject's texts in one theme, the two subjects apart, none left over.
    assert len(set(result["assignment"][:4])) == len(set(result["assignment"][4:])) == 1
    assert result["assignment"][0] != result["assignment"][4]
    assert OTHER not in result["assignment"]
    stop = {"die", "und", "für", "di", "per", "de", "os", "o", "do", "na"}
    assert not all_terms(result) & stop


# --- across languages -------------------------------------------------------------------------


def test_the_same_theme_in_three_languages_is_one_group_that_names_them():
    texts = []
    for number, (language, said) in enumerate(REUNIFICATION.items()):
        texts += corpus(said, language, first_id=100 * (number + 1))
    texts += corpus(VISAS_ES, "es", first_id=900)

    result = find_themes(texts)

    together = [g for g in result["groups"] if len(g["languages"]) > 1]
    assert len(together) == 1
    assert sorted(together[0]["languages"]) == ["en", "es", "fr"]
    assert together[0]["size"] == 12
    visas = [g for g in result["groups"] if "visas" in g["terms"]]
    assert len(visas) == 1 and visas[0]["languages"] == ["es"]
    # Each text's column value is its group's id.
    for text, group in zip(texts, result["assignment"], strict=True):
        expected = visas[0]["id"] if text[0] in VISAS_ES else together[0]["id"]
        assert group == expected


def evidence(language, terms, links_=(), names=()):
    return Evidence(language, tuple(terms), frozenset(links_), frozenset(names))


def theme(theme_id, language, size):
    return {"id": theme_id, "language": language, "terms": [theme_id], "size": size, "texts": 1}


def test_themes_join_only_on_enough_evidence_and_never_two_of_one_language():
    found = {
        "en-1": evidence("en", ["migration", "protection", "border"]),
        "es-1": evidence("es", ["migracion", "proteccion", "frontera"]),  # two stems: not enough
        "es-2": evidence("es", ["migrantes", "protegidos", "border"], names=["UNHCR"]),
        "en-2": evidence("en", ["migrants", "protected", "border"], names=["UNHCR"]),
    }
    assert evidence_score(found["en-1"], found["es-1"]) == 2
    themes = [theme(t, t[:2], size) for t, size in zip(found, (6, 4, 3, 2), strict=True)]

    groups = group_themes(themes, found, total_submissions=20)

    members = sorted(sorted(g["themes"]) for g in groups)
    assert members == [["en-1"], ["en-2", "es-2"], ["es-1"]]
    assert all(len(set(g["languages"])) == len(g["languages"]) for g in groups)
    assert [g["id"] for g in groups] == ["theme-1", "theme-2", "theme-3"]
    assert groups[0]["themes"] == ["en-1"] and groups[1]["size"] == 5


def test_named_bodies_are_acronyms_not_roman_numerals():
    assert names_in(["The UNHCR and IOM reports (part II) on G20 migration"]) == {
        "UNHCR",
        "IOM",
        "G20",
    }
