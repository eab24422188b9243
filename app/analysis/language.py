"""Which language a piece of feedback is written in (a pure function over text)."""

from __future__ import annotations

import re
import threading

from py3langid.langid import MODEL_DIR, MODEL_FILE, LanguageIdentifier

MIN_LETTERS = 12  # shorter texts ("ok", "+1") carry too little signal to name a language
MIN_CONFIDENCE = 0.7
_LETTERS = re.compile(r"[^\W\d_]", re.UNICODE)


_loading = threading.Lock()
_loaded: list[LanguageIdentifier] = []


def _identifier() -> LanguageIdentifier:
    """The model, loaded once per process: about a second of decompressing. Threads that ask
    while it loads wait for that one load rather than each decompressing their own copy (16
    threads doing so at once made a web process's first submissions take 30 s)."""
    if not _loaded:
        with _loading:
            if not _loaded:
                _loaded.append(
                    LanguageIdentifier.from_modelpath(MODEL_DIR / MODEL_FILE, norm_probs=True)
                )
    return _loaded[0]


def warm_up() -> None:
    """Load the model now, before the first request needs it."""
    _identifier()


def detect_language(text: str) -> str | None:
    """The ISO 639-1 code of `text`'s language, or None when it is too short or unclear.

    Every language the model knows is a candidate, so German is named German rather than
    forced into the closest of English, Spanish and French.
    """
    if len(_LETTERS.findall(text or "")) < MIN_LETTERS:
        return None
    code, confidence = _identifier().classify(text)
    return code if confidence >= MIN_CONFIDENCE else None
