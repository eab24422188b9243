import pytest

from app.analysis.language import detect_language


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The pledge must protect asylum seekers who arrive at the border.", "en"),
        ("Proteger a los niños no acompañados es urgente en toda la región.", "es"),
        ("Nous soutenons cette recommandation, avec des amendements sur le retour.", "fr"),
        ("Os trabalhadores migrantes precisam de proteção e de acesso à saúde.", "pt"),
    ],
)
def test_names_the_language_of_a_sentence(text: str, expected: str) -> None:
    assert detect_language(text) == expected


@pytest.mark.parametrize("text", ["", "ok", "+1 !!!", "12345 67890 1112"])
def test_too_little_text_has_no_language(text: str) -> None:
    assert detect_language(text) is None


def test_another_language_is_named_rather_than_forced_into_en_es_fr() -> None:
    assert detect_language("Wir unterstützen diese Empfehlung nicht, weil sie zu vage ist.") == "de"


def test_mixed_short_noise_is_not_given_a_language() -> None:
    assert detect_language("asdf qwer zxcv hjkl") is None
