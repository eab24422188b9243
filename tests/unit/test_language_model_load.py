"""The language model is loaded once per process, however many threads ask for it at once."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

from app.analysis import language


def test_threads_asking_at_once_share_one_load_of_the_model(monkeypatch):
    loads: list[int] = []
    real = language.LanguageIdentifier.from_modelpath

    def slow_load(*args, **kwargs):
        loads.append(threading.get_ident())
        time.sleep(0.2)  # long enough for every thread to ask while it loads
        return real(*args, **kwargs)

    monkeypatch.setattr(language.LanguageIdentifier, "from_modelpath", slow_load)
    monkeypatch.setattr(language, "_loaded", [])
    start = threading.Barrier(8)

    def detect(_number: int) -> str | None:
        start.wait()
        return language.detect_language("Las vías laborales deben incluir a las cuidadoras.")

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(detect, range(8)))
    assert answers == ["es"] * 8
    assert len(loads) == 1
