"""The batched term counter gives exactly the counts of tokenizing each text on its own."""

from __future__ import annotations

import itertools
import random
from collections import Counter

import numpy as np
import pytest

from rag_claimcheck.data.corpus import generate_corpus
from rag_claimcheck.data.samples import sample_text
from rag_claimcheck.rag import term_counts
from rag_claimcheck.rag.term_counts import TermCounts, count_terms
from rag_claimcheck.rag.tokenize import tokenize

ODD_TEXTS = [
    "",
    "   ",
    "the of and",
    "don't stop rock'n'roll a''b 'quoted' x'_y",
    "Straße Café's naïve résumé — Lanternfish\u2019s port 9443",
    "internationalization electroencephalographically supercalifragilisticexpialidocious",
    "sixteen-letter-w exactlysixteench exactlyseventeench eightchr ninechars",
    "UPPER lower MiXeD 123 4_5 a1b2c3",
    "tail'",
]


def as_counters(found: TermCounts) -> list[Counter[str]]:
    counts = found.counts.tocsr()
    bounds = counts.indptr.tolist()
    terms, data = counts.indices.tolist(), counts.data.tolist()
    return [
        Counter({found.terms[terms[j]]: data[j] for j in range(start, end)})
        for start, end in itertools.pairwise(bounds)
    ]


def assert_counts_of_each_text(texts: list[str]) -> None:
    found = count_terms(texts)
    assert found.counts.shape[0] == len(texts)
    assert len(set(found.terms)) == len(found.terms)
    assert as_counters(found) == [Counter(tokenize(t)) for t in texts]


def test_odd_texts() -> None:
    assert_counts_of_each_text(ODD_TEXTS)


def test_the_handbook_and_a_generated_corpus_in_several_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(term_counts, "BATCH_CHARS", 20_000)
    texts = sample_text().split("\n\n") + generate_corpus(200_000).text.split("\n\n") + ODD_TEXTS
    random.Random(2).shuffle(texts)
    assert_counts_of_each_text(texts)


def test_random_ascii_and_unicode_texts() -> None:
    rng = random.Random(9)
    alphabet = "abcdefghXYZ0129_'- .,\n\u00e9\u2019"
    texts = ["".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 300))) for _ in range(500)]
    texts += ["".join(rng.choice("ab") for _ in range(n)) for n in range(1, 40)]
    assert_counts_of_each_text(texts)


def test_a_key_collision_falls_back_to_the_plain_count(monkeypatch: pytest.MonkeyPatch) -> None:
    # With no mixing, "platform" and "platforms" share a key (the 9th byte is dropped).
    monkeypatch.setattr(term_counts, "_MIX", np.uint64(0))
    plain_count = term_counts._plain
    fell_back: list[int] = []

    def plain(texts: list[str]) -> TermCounts:
        fell_back.append(len(texts))
        return plain_count(texts)

    monkeypatch.setattr(term_counts, "_plain", plain)
    assert_counts_of_each_text(["platform platforms", "platforms"])
    assert fell_back == [2]


def test_nothing_to_count() -> None:
    found = count_terms([])
    assert (found.terms, found.counts.shape) == ([], (0, 0))
