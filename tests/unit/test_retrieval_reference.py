"""The serving index ranks exactly as rank-bm25 (with the kit's Lucene idf) does, at every k."""

from __future__ import annotations

import random

import numpy as np
import pytest

from rag_claimcheck.data.corpus import generate_corpus
from rag_claimcheck.data.samples import sample_qa, sample_text
from rag_claimcheck.rag.ingest import ingest
from rag_claimcheck.rag.models import SourceDocument
from rag_claimcheck.rag.retrieval import BM25Index, ReferenceBM25
from rag_claimcheck.rag.tokenize import tokenize


def chunk_texts(text: str) -> list[str]:
    source = SourceDocument(filename="d.md", mime_type="text/markdown", text=text)
    return ingest(source).chunk_texts(text)


@pytest.fixture(scope="module")
def handbook() -> list[str]:
    return chunk_texts(sample_text())


@pytest.fixture(scope="module")
def generated() -> tuple[list[str], list[str]]:
    corpus = generate_corpus(2 * 1024 * 1024, questions=60)
    texts = chunk_texts(corpus.text)
    # Besides the questions, queries of 1 to 6 words drawn from random chunks.
    rng = random.Random(11)
    drawn = []
    for _ in range(100):
        words = texts[rng.randrange(len(texts))].split()
        start = rng.randrange(len(words))
        drawn.append(" ".join(words[start : start + rng.randrange(1, 7)]))
    return texts, [q.question for q in corpus.questions] + drawn


def assert_same_ranking(texts: list[str], questions: list[str], ks: tuple[int, ...] = (1, 4, 10)) -> None:
    index = BM25Index.from_texts(texts)
    reference = ReferenceBM25(texts)
    for question in questions:
        tokens = tokenize(question)
        scores = index.scores(tokens)
        if scores is not None:  # the same float64 numbers, not merely close ones
            assert np.array_equal(scores, reference.get_scores(tokens)[index.first_chunks]), question
        for k in ks:
            assert index.search(question, k) == reference.search(question, k), (question, k)


def test_the_sample_set_ranks_as_rank_bm25(handbook: list[str]) -> None:
    assert_same_ranking(handbook, [pair.question for pair in sample_qa()])


def test_a_generated_corpus_ranks_as_rank_bm25(generated: tuple[list[str], list[str]]) -> None:
    texts, questions = generated
    assert len(texts) > 2000
    assert_same_ranking(texts, questions, ks=(4,))


def test_repeated_chunks_rank_as_rank_bm25(handbook: list[str]) -> None:
    texts = handbook[:40] * 3 + handbook[40:80]
    assert_same_ranking(texts, [pair.question for pair in sample_qa()])


def test_an_index_of_offsets_into_the_document_is_the_index_of_its_chunk_texts() -> None:
    text = sample_text()
    document = ingest(SourceDocument(filename="h.md", mime_type="text/markdown", text=text))
    of_offsets = BM25Index(document, text)
    of_texts = BM25Index.from_texts(document.chunk_texts(text))
    for pair in sample_qa():
        assert of_offsets.search(pair.question, 4) == of_texts.search(pair.question, 4)


@pytest.mark.parametrize(
    "texts",
    [[], ["the of and"], ["", ""], ["Shoal pages at 45,000 messages of lag."]],
)
def test_degenerate_documents_agree_too(texts: list[str]) -> None:
    index = BM25Index.from_texts(texts)
    for question in ("Shoal lag", "the"):
        expected = ReferenceBM25(texts).search(question, 4) if any(tokenize(t) for t in texts) else []
        assert index.search(question, 4) == expected
