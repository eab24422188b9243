"""Campaign grouping on a labelled corpus of form letters and distinct comments.

Usage: .venv/bin/python bench/campaign_bench.py [--letters 24] [--distinct 600] [--seeds 1 2 3]
                                                [--sweep]

For each corpus (one per seed) it scores, by pairwise precision and recall against the letters
the texts were written from:
- `consulta`: app.analysis.campaigns.group, the grouping the worker keeps;
- `before`: the grouping before issue 15 (16 bands of 8 rows; a newcomer sharing any band
  joined the first campaign it found, unchecked; a text bridging two campaigns did not merge
  them), fed in id order;
- `lsh+union-find`: datasketch's MinHashLSH at threshold 0.5 and a union of every candidate.
It also feeds the corpus to `consulta` in three shuffled orders and checks that the groups are
the same, and times each method per text. `--sweep` tries other bands × rows and thresholds.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Mapping
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from datasketch import MinHash, MinHashLSH  # noqa: E402

from app.analysis import campaigns, near_duplicates  # noqa: E402
from app.dev import letters  # noqa: E402

Grouping = Callable[[Mapping[int, str]], dict[int, int]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--letters", type=int, default=24)
    parser.add_argument("--distinct", type=int, default=600)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--sweep", action="store_true")
    args = parser.parse_args()
    corpora = [
        letters.corpus(letters=args.letters, distinct=args.distinct, seed=seed)
        for seed in args.seeds
    ]
    sizes = [len(texts) for texts in corpora]
    members = [sum(t.label is not None for t in texts) for texts in corpora]
    print(f"corpora: {sizes} texts, {members} of them in {args.letters} letters each")
    if args.sweep:
        sweep(corpora)
        return
    for name, method in (
        ("consulta", campaigns.group),
        ("before", grouped_as_before),
        ("lsh+union-find", lsh_union_find),
    ):
        print(score_line(name, method, corpora))
    print("same groups in shuffled orders:", all(order_independent(texts) for texts in corpora))


def score_line(name: str, method: Grouping, corpora: list[list[letters.Text]]) -> str:
    precisions, recalls, per_text = [], [], []
    for texts in corpora:
        by_id = {t.id: t.text for t in texts}
        started = time.perf_counter()
        found = method(by_id)
        per_text.append((time.perf_counter() - started) / len(texts) * 1000)
        precision, recall = pairwise(found, letters.pairs(texts))
        precisions.append(precision)
        recalls.append(recall)
    return (
        f"{name:16} precision {_range(precisions)}  recall {_range(recalls)}  "
        f"{statistics.median(per_text):.2f} ms a text (median)"
    )


def pairwise(found: Mapping[int, int], truth: set[tuple[int, int]]) -> tuple[float, float]:
    members: dict[int, list[int]] = defaultdict(list)
    for text_id, key in found.items():
        members[key].append(text_id)
    predicted = {
        (a, b) for ids in members.values() for a in sorted(ids) for b in sorted(ids) if a < b
    }
    right = len(predicted & truth)
    return (right / len(predicted) if predicted else 1.0, right / len(truth) if truth else 1.0)


def order_independent(texts: list[letters.Text], orders: int = 3) -> bool:
    """The same texts under shuffled ids give the same groups (as sets of texts)."""
    reference = _groups_of_texts({t.id: t.text for t in texts})
    rng = random.Random(7)
    for _order in range(orders):
        shuffled = [t.text for t in texts]
        rng.shuffle(shuffled)
        if _groups_of_texts(dict(enumerate(shuffled, start=1))) != reference:
            return False
    return True


def _groups_of_texts(by_id: dict[int, str]) -> set[frozenset[str]]:
    members: dict[int, set[str]] = defaultdict(set)
    for text_id, key in campaigns.group(by_id).items():
        members[key].add(by_id[text_id])
    return {frozenset(texts) for texts in members.values()}


def grouped_as_before(texts: Mapping[int, str]) -> dict[int, int]:
    """campaign_membership.join_campaign before issue 15: any shared band joins, without a
    check; the newcomer takes the smallest key among the members it matches (or the first
    member's id), and matches not yet in a campaign take that key too; two campaigns never
    merge."""
    buckets: dict[tuple[int, int], list[int]] = defaultdict(list)
    key_of: dict[int, int] = {}
    now = near_duplicates.BANDS, near_duplicates.ROWS
    _use_bands(16, 8)  # its bands then
    try:
        bands = {text_id: near_duplicates.signature_bands(texts[text_id]) for text_id in texts}
    finally:
        _use_bands(*now)
    for text_id in sorted(texts):
        matches: set[int] = set()
        for band in bands[text_id]:
            matches.update(buckets[band])
            buckets[band].append(text_id)
        if not matches:
            continue
        keys = [key_of[m] for m in matches if m in key_of]
        key = min(keys) if keys else min(min(matches), text_id)
        for member in [text_id, *(m for m in matches if m not in key_of)]:
            key_of[member] = key
    return key_of


def lsh_union_find(texts: Mapping[int, str], threshold: float = 0.5) -> dict[int, int]:
    """A plain MinHash-LSH (datasketch) and a union of every pair of candidates."""
    lsh = MinHashLSH(threshold=threshold, num_perm=128)
    hashes = {}
    for text_id, text in texts.items():
        signature = MinHash(num_perm=128, seed=1)
        signature.update_batch([s.encode() for s in near_duplicates.shingles(text)] or [b""])
        hashes[text_id] = signature
        lsh.insert(text_id, signature)
    parent = {text_id: text_id for text_id in texts}

    def root(node: int) -> int:
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    for text_id, signature in hashes.items():
        for other in lsh.query(signature):
            low, high = sorted((root(text_id), root(other)))
            parent[high] = low
    members: dict[int, list[int]] = defaultdict(list)
    for text_id in texts:
        members[root(text_id)].append(text_id)
    return {t: min(ids) for ids in members.values() if len(ids) > 1 for t in ids}


def sweep(corpora: list[list[letters.Text]]) -> None:
    """Bands × rows and thresholds (module settings changed in this process only)."""
    for bands, rows in ((16, 8), (32, 4), (32, 3), (42, 3), (24, 3)):
        _use_bands(bands, rows)
        for jaccard, containment in ((0.5, 0.7), (0.4, 0.6), (0.35, 0.6), (0.45, 0.8)):
            campaigns.JACCARD, campaigns.CONTAINMENT = jaccard, containment
            print(f"{bands}x{rows} J {jaccard} C {containment}: ", end="")
            print(score_line("", campaigns.group, corpora).strip())


def _use_bands(bands: int, rows: int) -> None:
    near_duplicates.BANDS, near_duplicates.ROWS = bands, rows
    near_duplicates.NUM_PERM = bands * rows
    near_duplicates._permutations.cache_clear()  # noqa: SLF001 - a tuning run's own settings


def _range(values: list[float]) -> str:
    return f"{min(values):.3f}–{max(values):.3f}" if len(values) > 1 else f"{values[0]:.3f}"


if __name__ == "__main__":
    main()
