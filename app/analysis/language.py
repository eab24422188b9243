"""Which language a piece of feedback is written in (a pure function over text)."""

from __future__ import annotations

import re
from functools import cache

from py3langid.langid import MODEL_DIR, MODEL_FILE, LanguageIdentifier

MIN_LETTERS = 12  # shorter texts ("ok", "+1") carry too little signal to name a language
MIN_CONFIDENCE = 0.7
_LETTERS = re.compile(r"[^\W\d_]", re.UNICODE)


@cache
def _identifier() -> LanguageIdentifier:
    return LanguageIdentifier.from_modelpath(MODEL_DIR / MODEL_FILE, norm_probs=True)


def detect_language(text: str) -> str | None:
    """The ISO 639-1 code of `text`'s language, or None when it is too short or unclear.

    Every language the model knows is a candidate, so German is named German rather than
    forced into the closest of English, Spanish and French.
    """
    if len(_LETTERS.findall(text or "")) < MIN_LETTERS:
        return None
    code, confidence = _identifier().classify(text)
    return code if confidence >= MIN_CONFIDENCE else None
