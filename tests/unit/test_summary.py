"""The extractive summary: real sentences, each citing exactly the submissions that carry it."""

from __future__ import annotations

import random

from app.analysis.sentences import sentence_key, split_sentences
from app.analysis.summary import summarise
from app.analysis.themes import find_themes

SHARED = "Las visas de trabajo temporal deben durar dos años."
SPANISH = [
    (f"{SHARED} Los agricultores no encuentran trabajadores.", 1, [11], "es"),
    (f"Pedimos más inspecciones laborales. {SHARED}", 1, [12], "es"),
    (f"{SHARED.upper()} La renovación debe hacerse en línea.", 1, [13], "es"),
    ("La reunificación familiar de los trabajadores temporales tarda años.", 1, [14], "es"),
    ("Los trabajadores temporales necesitan seguro médico desde el primer día.", 1, [15], "es"),
    ("Las visas de trabajo deberían permitir cambiar de empleador.", 1, [16], "es"),
]
ENGLISH = [
    ("Returnees cannot find affordable housing in their home towns.", 1, [21], "en"),
    ("The council should build affordable housing for returning families.", 1, [22], "en"),
    ("Affordable housing for returnees is scarce in every district.", 1, [23], "en"),
]
FRENCH = [
    ("Les demandeurs d'asile attendent des mois avant leur premier entretien.", 1, [31], "fr"),
    ("Les demandeurs d'asile ont besoin d'un avocat gratuit dès leur arrivée.", 1, [32], "fr"),
]


def carriers(texts, sentence):
    key = sentence_key(sentence)
    return sorted(
        sid
        for text, _, ids, _ in texts
        if key in map(sentence_key, split_sentences(text))
        for sid in ids
    )


def test_a_sentence_three_submissions_share_is_chosen_and_cites_exactly_those_three():
    result = summarise(SPANISH, sentences=3)

    cited = {s["text"]: s for s in result["sentences"]}
    assert SHARED in cited
    assert cited[SHARED]["submission_ids"] == [11, 12, 13]
    assert (cited[SHARED]["submission_count"], cited[SHARED]["texts"]) == (3, 3)


def test_every_sentence_is_a_sentence_of_the_input_and_cites_all_that_carry_it():
    texts = SPANISH + ENGLISH + FRENCH

    result = summarise(texts, sentences=6)

    assert result["sentences"]
    for sentence in result["sentences"]:
        expected = carriers(texts, sentence["text"])
        assert expected, f"{sentence['text']!r} is not in any submission"
        assert sentence["submission_ids"] == expected
        assert sentence["language"] == next(
            lang for _, _, ids, lang in texts if ids[0] == expected[0]
        )


def test_a_nearly_identical_sentence_is_cited_too():
    near = SHARED.replace("Las visas", "Y las visas")
    texts = [*SPANISH, (f"Los sindicatos lo exigen. {near}", 1, [17], "es")]

    cited = {s["text"]: s for s in summarise(texts, sentences=3)["sentences"]}

    assert cited[SHARED]["submission_ids"] == [11, 12, 13, 17]


def test_a_different_sentence_on_the_same_subject_is_not_cited():
    cited = {s["text"]: s for s in summarise(SPANISH, sentences=3)["sentences"]}

    assert 16 not in cited[SHARED]["submission_ids"]


def test_a_campaign_sentence_counts_every_member_but_lists_a_bounded_number():
    members = list(range(1000, 2000))
    texts = [(SPANISH[0][0], 1000, members, "es"), *SPANISH[1:]]

    result = summarise(texts, sentences=3, max_ids=10)

    cited = {s["text"]: s for s in result["sentences"]}
    assert cited[SHARED]["submission_count"] == 1002
    assert cited[SHARED]["submission_ids"] == [12, 13, *members[:8]]
    assert result["languages"]["es"] == {"texts": 6, "submissions": 1005, "sampled_texts": 6}


def test_no_two_chosen_sentences_say_the_same_thing():
    result = summarise(SPANISH, sentences=6)

    keys = [sentence_key(s["text"]) for s in result["sentences"]]
    assert len(keys) == len(set(keys))
    assert sum(key == sentence_key(SHARED) for key in keys) == 1


def test_each_language_gets_a_sentence_and_the_largest_gets_more():
    result = summarise(SPANISH + ENGLISH + FRENCH, sentences=5)

    languages = [s["language"] for s in result["sentences"]]
    assert len(languages) == 5
    assert set(languages) == {"en", "es", "fr"}
    assert languages.count("es") >= 2
    assert languages[0] == "es"  # most submissions first


def test_the_same_input_in_any_order_gives_the_same_summary():
    texts = SPANISH + ENGLISH + FRENCH
    shuffled = texts[:]
    random.Random(5).shuffle(shuffled)

    first = summarise(texts)
    assert summarise(texts) == first
    assert summarise(shuffled) == first


def test_themes_can_steer_what_is_relevant():
    texts = SPANISH + ENGLISH
    themes = find_themes(texts)

    result = summarise(texts, themes=themes, sentences=3)

    assert result["method"]["relevance"] == "themes"
    assert {s["language"] for s in result["sentences"]} == {"es", "en"}
    for sentence in result["sentences"]:
        assert sentence["submission_ids"] == carriers(texts, sentence["text"])


def test_no_texts_or_only_short_ones_give_no_sentences():
    assert summarise([])["sentences"] == []
    assert summarise([("Sí. No. Bien.", 1, [1], "es")])["sentences"] == []
    assert summarise([("Wij hebben nu meer werkvisa nodig.", 1, [1], "nl")]) == summarise([])


def test_a_single_text_gives_its_own_sentences():
    result = summarise([SPANISH[0]], sentences=2)

    assert {s["text"] for s in result["sentences"]} == {
        SHARED,
        "Los agricultores no encuentran trabajadores.",
    }
    assert all(s["submission_ids"] == [11] for s in result["sentences"])


def test_sentences_split_on_spanish_and_french_punctuation():
    assert split_sentences("¿Por qué tarda tanto? ¡Es urgente! «Basta». Gracias.") == [
        "¿Por qué tarda tanto?",
        "¡Es urgente!",
        "«Basta».",
        "Gracias.",
    ]
    assert split_sentences("« Il faut agir ! » Ensuite, rien. Vraiment ? Oui.") == [
        "« Il faut agir ! »",
        "Ensuite, rien.",
        "Vraiment ?",
        "Oui.",
    ]


def test_abbreviations_initials_and_numbers_do_not_end_a_sentence():
    assert split_sentences("El Sr. García citó el art. 5 de la ley. Fin del texto.") == [
        "El Sr. García citó el art. 5 de la ley.",
        "Fin del texto.",
    ]
    assert split_sentences("M. Dupont et Mme. Roy, e.g. J. Smith, paid 3.5 million. Done.") == [
        "M. Dupont et Mme. Roy, e.g. J. Smith, paid 3.5 million.",
        "Done.",
    ]
    assert split_sentences("Los EE.UU. y la UE. firmaron.") == ["Los EE.UU. y la UE. firmaron."]


def test_lines_and_list_items_are_sentences_of_their_own():
    assert split_sentences("Proposals:\n- more visas\n2. Faster appeals\n\nThanks") == [
        "Proposals:",
        "more visas",
        "Faster appeals",
        "Thanks",
    ]


def test_a_sentence_hundreds_of_texts_carry_cites_them_all():
    texts = [(f"{SHARED} Caso {i}.", 1, [100 + i], "es") for i in range(200)]
    texts += [(f"{SHARED.upper()} Nada más.", 40, list(range(1000, 1040)), "es"), *SPANISH[3:]]
    texts += [(f"Y {SHARED.lower()}", 1, [5000], "es")]  # the same words but one stop word

    result = summarise(texts, sentences=3, max_ids=5)

    cited = {sentence_key(s["text"]): s for s in result["sentences"]}
    shared = cited[sentence_key(SHARED)]  # shown as the heaviest text spells it
    assert shared["text"] == SHARED.upper()
    assert shared["texts"] == 202  # 201 word for word, and one with the same terms
    assert shared["submission_count"] == 241
    assert shared["submission_ids"] == [100, 101, 102, 103, 104]
    assert summarise(list(reversed(texts)), sentences=3, max_ids=5) == result
