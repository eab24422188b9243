"""Texts the theme tests share: a Spanish corpus on work visas, and distinct texts as
`find_themes` takes them."""

from __future__ import annotations

VISAS_ES = [
    "Necesitamos más visas de trabajo temporal para los trabajadores agrícolas.",
    "Las visas de trabajo temporal deben renovarse sin salir del país.",
    "Pedimos ampliar las visas de trabajo temporal en la construcción y el turismo.",
    "El programa de visas de trabajo temporal excluye a muchos trabajadores.",
]


def corpus(texts, language, first_id=1):
    return [(text, 1, [first_id + i], language) for i, text in enumerate(texts)]
