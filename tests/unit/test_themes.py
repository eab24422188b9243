"""Themes per language: the right topics, sizes that count campaigns, quotes that cite."""

from __future__ import annotations

import random

import pytest

from app.analysis.sentences import (
    SentenceIndex,
    SentenceSources,
    fold,
    sentence_index,
    sentence_key,
    split_sentences,
)
from app.analysis.themes import find_themes, group_amendments, term_vectorizer, theme_count
from tests.helpers.theme_texts import VISAS_ES, corpus

FAMILY_ES = [
    "La reunificación familiar tarda años y separa a los niños de sus padres.",
    "Proponemos acelerar la reunificación familiar para cónyuges e hijos.",
    "La reunificación familiar debe incluir a los abuelos que cuidan a los niños.",
    "Los requisitos económicos de la reunificación familiar son demasiado altos.",
]
ASYLUM_FR = [
    "Les demandeurs d'asile attendent des mois avant leur premier entretien.",
    "L'accès à l'asile doit être garanti à chaque poste frontière.",
    "Les demandeurs d'asile ont besoin d'un avocat gratuit dès leur arrivée.",
    "Le traitement des demandes d'asile est trop lent dans les préfectures.",
]
SCHOOL_FR = [
    "Les enfants migrants doivent être inscrits à l'école sans délai.",
    "L'école publique manque d'enseignants formés pour les enfants migrants.",
    "Chaque école devrait accueillir les enfants migrants avec des cours de langue.",
    "Les enfants migrants abandonnent l'école faute de soutien scolaire.",
]
HOUSING_EN = [
    "Returnees cannot find affordable housing in their home towns.",
    "The council should build affordable housing for returning families.",
    "Rents are too high and affordable housing for returnees is scarce.",
    "Shelters are full, so returnees need affordable housing programmes.",
]
JOBS_EN = [
    "Employers refuse to recognise the diplomas of migrant nurses.",
    "Recognition of foreign diplomas takes years for migrant engineers.",
    "Migrant teachers wait too long for the recognition of their diplomas.",
    "A single office should handle the recognition of migrant diplomas.",
]


def without_assignment(result):
    return {key: value for key, value in result.items() if key != "assignment"}


def assigned_by_text(result, texts):
    """Each text's theme, by its text rather than its place in the input."""
    return {text[0]: group for text, group in zip(texts, result["assignment"], strict=True)}


def theme_with(result, language, term):
    themes = result["languages"][language]["themes"]
    found = [theme for theme in themes if term in theme["terms"]]
    assert len(found) == 1, f"{term!r} should lead exactly one theme: {themes}"
    return found[0]


def test_a_spanish_corpus_on_two_subjects_gives_those_two_themes():
    result = find_themes(corpus(VISAS_ES, "es") + corpus(FAMILY_ES, "es", first_id=5))

    themes = result["languages"]["es"]["themes"]
    assert len(themes) == 2
    visas = theme_with(result, "es", "visas")
    family = theme_with(result, "es", "reunificación")
    assert {"trabajo", "temporal"} <= set(visas["terms"])
    assert "familiar" in family["terms"]
    assert "reunificación" not in visas["terms"] and "visas" not in family["terms"]
    assert (visas["size"], sorted(visas["submission_ids"])) == (4, [1, 2, 3, 4])
    assert (family["size"], sorted(family["submission_ids"])) == (4, [5, 6, 7, 8])
    assert all(theme["language"] == "es" for theme in themes)


def test_terms_leave_out_stop_words_and_keep_their_accents():
    result = find_themes(corpus(VISAS_ES, "es") + corpus(FAMILY_ES, "es", first_id=5))

    terms = {term for theme in result["languages"]["es"]["themes"] for term in theme["terms"]}
    assert not terms & {"de", "la", "las", "los", "el", "para", "del", "sus"}
    assert "reunificación" in terms and "reunificacion" not in terms


def test_a_campaign_text_counts_its_members_in_the_size_but_is_fitted_once():
    texts = corpus(VISAS_ES, "es") + corpus(FAMILY_ES, "es", first_id=5)
    members = list(range(1000, 2000))
    texts[0] = (VISAS_ES[0], 1000, members, "es")

    result = find_themes(texts, max_ids=5000)

    visas = theme_with(result, "es", "visas")
    assert visas["size"] == 1003
    assert visas["texts"] == 4
    assert sorted(visas["submission_ids"]) == [2, 3, 4, *members]
    assert theme_with(result, "es", "reunificación")["size"] == 4
    assert result["languages"]["es"]["submissions"] == 1007
    assert result["languages"]["es"]["texts"] == 8


def test_submission_ids_are_capped_but_the_size_is_not():
    texts = corpus(VISAS_ES, "es") + corpus(FAMILY_ES, "es", first_id=5)
    texts[0] = (VISAS_ES[0], 1000, list(range(1000, 2000)), "es")

    visas = theme_with(find_themes(texts, max_ids=10), "es", "visas")

    assert visas["submission_ids"] == [2, 3, 4, 1000, 1001, 1002, 1003, 1004, 1005, 1006]
    assert visas["size"] == 1003


def test_french_and_english_corpora_get_their_own_themes():
    texts = (
        corpus(ASYLUM_FR, "fr")
        + corpus(SCHOOL_FR, "fr", first_id=5)
        + corpus(HOUSING_EN, "en", first_id=9)
        + corpus(JOBS_EN, "en", first_id=13)
    )
    result = find_themes(texts)

    assert sorted(result["languages"]) == ["en", "fr"]
    assert sorted(theme_with(result, "fr", "asile")["submission_ids"]) == [1, 2, 3, 4]
    assert sorted(theme_with(result, "fr", "école")["submission_ids"]) == [5, 6, 7, 8]
    assert {"enfants", "migrants"} <= set(theme_with(result, "fr", "école")["terms"])
    assert sorted(theme_with(result, "en", "housing")["submission_ids"]) == [9, 10, 11, 12]
    assert sorted(theme_with(result, "en", "diplomas")["submission_ids"]) == [13, 14, 15, 16]
    assert "affordable" in theme_with(result, "en", "housing")["terms"]
    assert "recognition" in theme_with(result, "en", "diplomas")["terms"]


def test_every_quote_is_a_sentence_of_the_theme_and_cites_every_text_that_carries_it():
    shared = "La reunificación familiar tarda demasiados años."
    family = [f"{shared} {text}" for text in FAMILY_ES[:3]] + FAMILY_ES[3:]
    texts = corpus(VISAS_ES, "es") + corpus(family, "es", first_id=5)

    result = find_themes(texts)

    for theme in result["languages"]["es"]["themes"]:
        assert 1 <= len(theme["quotes"]) <= 3
        for quote in theme["quotes"]:
            carriers = [
                ids[0]
                for text, _, ids, _ in texts
                if sentence_key(quote["text"]) in map(sentence_key, split_sentences(text))
            ]
            assert carriers, f"{quote['text']!r} is not a sentence of any text"
            assert quote["submission_ids"] == sorted(carriers)
            assert quote["submission_count"] == len(carriers)
    family_quotes = theme_with(result, "es", "reunificación")["quotes"]
    cited = {q["text"]: q["submission_ids"] for q in family_quotes}
    assert cited.get(shared) == [5, 6, 7]


def test_quotes_of_a_theme_are_not_repeats_of_one_another():
    texts = corpus(VISAS_ES * 3, "es") + corpus(FAMILY_ES, "es", first_id=20)

    for theme in find_themes(texts)["languages"]["es"]["themes"]:
        keys = [sentence_key(q["text"]) for q in theme["quotes"]]
        assert len(keys) == len(set(keys))


def test_the_same_input_in_any_order_gives_the_same_themes():
    texts = corpus(VISAS_ES, "es") + corpus(FAMILY_ES, "es", first_id=5)
    texts += corpus(HOUSING_EN + JOBS_EN, "en", first_id=9)
    shuffled = texts[:]
    random.Random(3).shuffle(shuffled)

    first = find_themes(texts)
    assert find_themes(texts) == first
    again = find_themes(shuffled)
    assert without_assignment(again) == without_assignment(first)
    assert assigned_by_text(again, shuffled) == assigned_by_text(first, texts)


def test_sampling_fits_on_part_of_the_corpus_but_assigns_every_text():
    texts = corpus(VISAS_ES * 3, "es") + corpus(FAMILY_ES * 3, "es", first_id=13)

    result = find_themes(texts, max_texts=6)["languages"]["es"]

    assert (result["texts"], result["sampled_texts"]) == (24, 6)
    assigned = sum(theme["texts"] for theme in result["themes"])
    assert assigned > 6  # texts outside the sample were assigned too
    assert assigned + result["unassigned_texts"] == 24
    assert sum(t["size"] for t in result["themes"]) + result["unassigned_submissions"] == 24


def test_the_heaviest_texts_are_sampled_first():
    texts = corpus(VISAS_ES, "es") + corpus(FAMILY_ES, "es", first_id=5)
    texts[5] = (FAMILY_ES[1], 50, list(range(100, 150)), "es")

    result = find_themes(texts, max_texts=1)["languages"]["es"]

    (theme,) = result["themes"]
    assert "reunificación" in theme["terms"]


def test_no_texts_give_no_themes():
    assert find_themes([])["languages"] == {}
    assert find_themes([("   ", 1, [1], "es")])["languages"] == {}


@pytest.mark.parametrize("count", [1, 2])
def test_one_or_two_texts_give_one_theme_holding_them(count):
    result = find_themes(corpus(VISAS_ES[:count], "es"))["languages"]["es"]

    (theme,) = result["themes"]
    assert theme["size"] == count
    assert sorted(theme["submission_ids"]) == list(range(1, count + 1))
    assert "visas" in theme["terms"]
    assert theme["quotes"]


def test_a_text_of_only_stop_words_is_left_unassigned():
    result = find_themes([("Y de la que el en los.", 3, [1, 2, 3], "es")])["languages"]["es"]

    assert result["themes"] == []
    assert (result["unassigned_texts"], result["unassigned_submissions"]) == (1, 3)


def test_small_languages_without_stop_words_and_unknown_ones_are_counted_not_themed():
    texts = [
        ("Wij hebben meer werkvisa nodig voor seizoenarbeiders.", 2, [1, 2], "nl"),
        ("????", 1, [3], None),
        *corpus(VISAS_ES, "es", first_id=4),
    ]
    result = find_themes(texts)

    assert list(result["languages"]) == ["es"]
    assert result["other_languages"] == {
        "nl": {"texts": 1, "submissions": 2},
        "und": {"texts": 1, "submissions": 1},
    }
    assert result["assignment"][:2] == ["other", "other"]
    assert result["other"] == {"texts": 2, "submissions": 3, "share": round(3 / 7, 4)}


def test_theme_ids_name_the_language_and_rank_by_size():
    texts = corpus(VISAS_ES, "es") + corpus(FAMILY_ES, "es", first_id=5)
    texts[5] = (FAMILY_ES[1], 30, list(range(100, 130)), "es")

    themes = find_themes(texts)["languages"]["es"]["themes"]

    assert [theme["id"] for theme in themes] == ["theme-es-1", "theme-es-2"]
    assert themes[0]["size"] >= themes[1]["size"]
    assert "reunificación" in themes[0]["terms"]


def test_the_result_says_how_themes_were_found():
    method = find_themes(corpus(VISAS_ES, "es"), max_themes=5, max_texts=300)["method"]

    assert method["name"] == "tfidf-nmf"
    assert (method["max_themes"], method["max_texts"]) == (5, 300)


@pytest.mark.parametrize(
    ("texts", "expected"), [(0, 0), (1, 1), (3, 1), (8, 2), (32, 4), (128, 8), (20_000, 8)]
)
def test_the_number_of_themes_grows_with_the_square_root_of_the_corpus(texts, expected):
    assert theme_count(texts, max_themes=8) == expected


def test_amendments_are_grouped_by_theme_with_their_own_ids():
    amendments = [
        "Replace 'may' with 'shall' in the article on affordable housing.",
        "Add a target of affordable housing for returnees.",
        "Delete the cap on affordable housing grants.",
        "Add diplomas recognition within three months.",
        "Make diplomas recognition free for refugees.",
        "Extend diplomas recognition to vocational certificates.",
        "Publish affordable housing waiting lists every month.",
        "Count years abroad towards diplomas recognition.",
    ]
    result = group_amendments(corpus(amendments, "en"))

    themes = result["languages"]["en"]["themes"]
    assert all(theme["id"].startswith("amendment-en-") for theme in themes)
    assert sorted(theme_with(result, "en", "housing")["submission_ids"]) == [1, 2, 3, 7]
    assert sorted(theme_with(result, "en", "diplomas")["submission_ids"]) == [4, 5, 6, 8]
    quoted = {q["text"] for q in theme_with(result, "en", "diplomas")["quotes"]}
    assert quoted <= {amendments[i] for i in (3, 4, 5, 7)}
    assert quoted


def test_folding_makes_accents_and_case_the_same_term():
    assert fold("Reunificación FAMILIAR, Élève") == "reunificacion familiar, eleve"


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("Niño, ACCIÓN, façade", "nino, accion, facade"),
        ("Œuvre « cœur » l’été", "œuvre « cœur » l’ete"),  # œ, guillemets and ’ are kept
        ("Straße ﬁn Ⅻ", "strasse fin xii"),
        ("PLAIN ascii Text 42", "plain ascii text 42"),
        ("e\u0301te\u0301 E\u0301TE\u0301", "ete ete"),  # decomposed accents too
    ],
)
def test_folding_edge_cases(text, folded):
    assert fold(text) == folded


def test_a_sentence_index_gives_what_the_vectorizer_gives():
    texts = [
        *VISAS_ES,
        *FAMILY_ES,
        "Línea uno.\n- Segundo punto: VISAS de trabajo temporal!\n™\n(a) ¿Por qué no? Sí.",
        "Las visas 2024 de trabajo_temporal. Las VISAS de trabajo temporal.",
    ]
    index = SentenceIndex(texts)
    vectorizer = term_vectorizer("es", len(texts))
    analyzer = vectorizer.analyzer
    by_tokens = vectorizer.fit_transform([index.tokens(i, analyzer) for i in range(len(texts))])

    for i, text in enumerate(texts):
        assert index.sentences(i) == split_sentences(text)
        assert sorted(index.tokens(i, analyzer)) == sorted(analyzer(text))
    assert (by_tokens != vectorizer.transform(texts)).nnz == 0
    sentences = [s for i in range(len(texts)) for s in index.sentences(i)]
    rows = index.vectors(vectorizer)[[index.key_id(s) for s in sentences]]
    assert (rows != vectorizer.transform(sentences)).nnz == 0
    shared = index.key_id("las visas de trabajo temporal")
    assert index.owners(shared).tolist() == [len(texts) - 1]


def test_the_index_is_shared_by_analyses_of_the_same_texts():
    texts = [*VISAS_ES, *FAMILY_ES]

    assert sentence_index(texts) is sentence_index(list(texts))
    assert sentence_index(texts) is not sentence_index(texts[1:])


def test_a_sentence_many_texts_carry_is_cited_from_all_of_them():
    shared = "Las visas de trabajo temporal deben durar dos años."
    near = "Y las visas de trabajo temporal deben durar dos años."
    texts = [*VISAS_ES, *FAMILY_ES]
    texts += [f"{shared} {FAMILY_ES[i % 4]} Caso {i}." for i in range(100)]
    texts += [f"{shared.upper()} Nada más {i}." for i in range(50)]
    texts += [f"Otra cosa {i}. {near}" for i in range(10)]
    texts += [f"{FAMILY_ES[i % 4]} Otro caso {i}." for i in range(300)]
    weights = [1] * 8 + [2] * 100 + [1] * 360
    ids = [[i + 1] for i in range(len(texts))]
    vectorizer = term_vectorizer("es", len(texts))
    vectorizer.fit(texts)
    sources = SentenceSources(SentenceIndex(texts), weights, ids, vectorizer)

    citation, again = sources.cite_all([shared, shared], 0.9, max_ids=20)

    assert citation == again == sources.cite(shared.lower(), 0.9, max_ids=20)
    assert citation.texts == 160  # word for word (any case) in 150 texts, nearly in 10
    assert citation.submission_count == 200 + 50 + 10
    assert citation.submission_ids == list(range(9, 29))
    exact = sources.cite(shared, 1.01, max_ids=1000)  # no cosine reaches 1.01
    assert exact.texts == 150 and exact.submission_ids == list(range(9, 159))


def test_themes_of_a_large_corpus_do_not_depend_on_the_order():
    shared = "Las visas de trabajo temporal deben durar dos años."
    texts = corpus(VISAS_ES, "es") + corpus(FAMILY_ES, "es", first_id=5)
    texts += [(f"{shared} {FAMILY_ES[i % 4]} Caso {i}.", 2, [100 + i], "es") for i in range(300)]
    shuffled = texts[:]
    random.Random(1).shuffle(shuffled)

    shuffled_result, result = find_themes(shuffled, max_ids=20), find_themes(texts, max_ids=20)
    assert without_assignment(shuffled_result) == without_assignment(result)
    assert assigned_by_text(shuffled_result, shuffled) == assigned_by_text(result, texts)
