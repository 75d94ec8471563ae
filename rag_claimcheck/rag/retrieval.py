"""BM25 retrieval over a document's chunks, with the index cached per document per process.

The index keeps the statistics rank-bm25's ``BM25Okapi`` keeps (term counts per chunk, chunk
lengths, chunks per term), as a term-by-chunk sparse matrix in a few flat arrays instead of one
dict per chunk, so a query reads only the postings of its own terms. Each posting also carries
its BM25 factor before idf as a float32. A query sums those (times idf) per chunk in one
``bincount`` to find the few chunks that can be in the top k, then scores those exactly: term by
term, in query order, with rank-bm25's own float64 expression. The scores are the same numbers as
rank-bm25's with Lucene idf, and so is the ranking (tests check both).

Chunks with the same text (repeated boilerplate) are one row: they count in the statistics as
often as they occur, but a query ranks each distinct text once, at its first chunk.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import overload

import numpy as np
from rank_bm25 import BM25Okapi

from rag_claimcheck.rag.models import IngestedDocument, Passage
from rag_claimcheck.rag.term_counts import count_terms
from rag_claimcheck.rag.tokenize import tokenize

DEFAULT_CACHE_DOCUMENTS = 8
"""How many documents' indexes one worker process keeps."""
K1 = 1.5
B = 0.75
"""rank-bm25's ``BM25Okapi`` defaults."""
WEIGHT_SLICE = 1 << 20
"""Postings weighed at a time while an index is built."""
APPROXIMATION_MARGIN = 1e-5
"""Relative slack when picking rows to score exactly (float32 weights err by ~1e-7)."""


def lucene_idf(chunks: int, chunks_with_term: int) -> float:
    """Lucene's idf, ``log(1 + (N - n + 0.5) / (n + 0.5))``, which is never negative.

    rank-bm25's Okapi idf is negative for a term in more than half of the chunks, and zero or
    negative for every term of a one- or two-chunk document, which then retrieves nothing.
    """
    return math.log(1 + (chunks - chunks_with_term + 0.5) / (chunks_with_term + 0.5))


class ReferenceBM25(BM25Okapi):
    """rank-bm25's ``BM25Okapi`` with :func:`lucene_idf`: the reference :class:`BM25Index` must agree with.

    It keeps one dict per chunk and loops over every chunk per query term, so it serves only as
    the yardstick in tests and benchmarks.
    """

    def __init__(self, texts: Sequence[str]) -> None:
        self.texts = texts
        super().__init__([tokenize(text) for text in texts])

    def _calc_idf(self, nd: dict[str, int]) -> None:
        self.idf = {word: lucene_idf(self.corpus_size, freq) for word, freq in nd.items()}

    def search(self, question: str, top_k: int) -> list[Passage]:
        """The best ``top_k`` distinct passages: every chunk sorted by score, then by position."""
        query = tokenize(question)
        if not query or not self.texts:
            return []
        scores = self.get_scores(query)
        passages: list[Passage] = []
        seen: set[str] = set()
        for i in np.lexsort((np.arange(len(scores)), -scores)).tolist():
            if scores[i] <= 0 or len(passages) == top_k:
                break
            if self.texts[i] not in seen:
                seen.add(self.texts[i])
                passages.append(Passage(chunk_index=i, score=round(float(scores[i]), 4), text=self.texts[i]))
        return passages


class _Texts(Sequence[str]):
    """``count`` texts made on demand by ``text_of`` (a batch at a time, never all at once)."""

    def __init__(self, count: int, text_of: Callable[[int], str]) -> None:
        self._count, self._text_of = count, text_of

    def __len__(self) -> int:
        return self._count

    @overload
    def __getitem__(self, i: int) -> str: ...
    @overload
    def __getitem__(self, i: slice) -> list[str]: ...
    def __getitem__(self, i: int | slice) -> str | list[str]:
        if isinstance(i, slice):
            return [self._text_of(j) for j in range(*i.indices(self._count))]
        return self._text_of(i)


class BM25Index:
    """A BM25 index over one document's chunks (see the module docstring)."""

    def __init__(self, document: IngestedDocument, text: str) -> None:
        """The index of ``document``'s chunks: its offsets into ``text``, sliced only when read."""
        starts, ends = document.chunk_starts, document.chunk_ends
        self._build(_Texts(len(starts), lambda i: text[starts[i] : ends[i]]), sha256=document.sha256)

    @classmethod
    def from_texts(cls, texts: Sequence[str], *, sha256: str = "") -> BM25Index:
        """An index over ``texts`` (chunk ``i`` is ``texts[i]``)."""
        index = cls.__new__(cls)
        index._build(texts, sha256=sha256)
        return index

    def _build(self, chunks: Sequence[str], *, sha256: str) -> None:
        self.sha256 = sha256
        count = self.chunk_count = len(chunks)
        text_of = self._text_of = chunks.__getitem__
        # One row per distinct text, at its first chunk; how many chunks share each row's text.
        row_of_hash: dict[int, int] = {}
        first_chunks: list[int] = []
        row_of_chunk = np.empty(count, dtype=np.int64)
        for i in range(count):
            text = text_of(i)
            row = row_of_hash.setdefault(hash(text), len(first_chunks))
            if row == len(first_chunks):
                first_chunks.append(i)
            elif text_of(first_chunks[row]) != text:  # a hash collision: a distinct text after all
                row = len(first_chunks)
                first_chunks.append(i)
            row_of_chunk[i] = row
        del row_of_hash
        self._first_chunk = np.asarray(first_chunks, dtype=np.int64)
        rows = len(first_chunks)
        copies = np.bincount(row_of_chunk, minlength=rows)
        del row_of_chunk

        found = count_terms(chunks if rows == count else _Texts(rows, lambda r: text_of(first_chunks[r])))
        self._term_ids = {term: t for t, term in enumerate(found.terms)}
        lengths = found.lengths.astype(np.int64)
        by_term = found.counts.tocsc()
        del found
        by_term.sort_indices()
        self._term_starts = by_term.indptr.astype(np.int64)
        self._term_rows = by_term.indices.astype(np.int32, copy=False)
        tf = by_term.data
        del by_term
        self._term_counts = tf.astype(np.uint8 if tf.size == 0 or tf.max() <= 255 else tf.dtype, copy=False)
        del tf
        # Chunks holding each term, repeated chunks counted as often as they occur.
        if rows == count:
            chunks_with_term = np.diff(self._term_starts)
        else:
            chunks_with_term = np.bincount(
                np.repeat(np.arange(len(self._term_ids)), np.diff(self._term_starts)),
                weights=copies[self._term_rows],
                minlength=len(self._term_ids),
            ).astype(np.int64)
        self._chunks_with_term = chunks_with_term
        total_length = int((lengths * copies).sum())
        # rank-bm25's avgdl and length normalisation, the same expression on the same numbers.
        avgdl = total_length / count if count else 0.0
        self._length_norm = K1 * (1 - B + B * lengths / avgdl) if avgdl > 0 else np.zeros(rows)
        # Each (term, chunk)'s BM25 factor before idf, rounded to float32: enough to find the few
        # chunks that can be in the top k, which are then scored exactly. Computed a slice at a
        # time, so the float64 temporaries stay small.
        postings = len(self._term_rows)
        self._term_weights = np.empty(postings, dtype=np.float32)
        for at in range(0, postings, WEIGHT_SLICE):
            tf = self._term_counts[at : at + WEIGHT_SLICE].astype(np.float64)
            norm = self._length_norm[self._term_rows[at : at + WEIGHT_SLICE]]
            self._term_weights[at : at + WEIGHT_SLICE] = tf * (K1 + 1) / (tf + norm)

    def search(self, question: str, top_k: int) -> list[Passage]:
        """The ``top_k`` best chunks for ``question``, best first (ties: earlier chunk first).

        Chunks with the same text as a better one (repeated boilerplate) are skipped, so the
        passages are distinct.
        """
        terms = [t for t in map(self._term_ids.get, tokenize(question)) if t is not None]
        if not terms:
            return []
        idf = {t: lucene_idf(self.chunk_count, int(self._chunks_with_term[t])) for t in terms}
        # Every posting of every query term, weighted, summed per row in one bincount.
        spans = [(t, self._term_starts[t], self._term_starts[t + 1]) for t in terms]
        approximate = np.bincount(
            np.concatenate([self._term_rows[start:end] for _, start, end in spans]),
            weights=np.concatenate([idf[t] * self._term_weights[start:end] for t, start, end in spans]),
            minlength=len(self._first_chunk),
        )
        best = np.flatnonzero(approximate > 0)
        if len(best) > top_k:
            # Every row whose exact score can reach the k-th best: float32 weights are off by
            # parts in 10^7, far inside this margin.
            kth = np.partition(approximate[best], len(best) - top_k)[len(best) - top_k]
            best = best[approximate[best] >= kth * (1 - APPROXIMATION_MARGIN)]
        exact = self._exact_scores(best, terms, idf)
        order = np.lexsort((best, -exact))[:top_k]
        passages = []
        for row, score in zip(best[order].tolist(), exact[order].tolist(), strict=True):
            chunk = int(self._first_chunk[row])
            passages.append(Passage(chunk_index=chunk, score=round(score, 4), text=self._text_of(chunk)))
        return passages

    def _exact_scores(self, rows: np.ndarray, terms: list[int], idf: dict[int, float]) -> np.ndarray:
        """rank-bm25's scores of ``rows`` (sorted), term by term in query order, in float64."""
        scores = np.zeros(len(rows))
        norm = self._length_norm[rows]
        for t in terms:
            start, end = self._term_starts[t], self._term_starts[t + 1]
            column = self._term_rows[start:end]
            at = np.minimum(np.searchsorted(column, rows), max(len(column) - 1, 0))
            tf = np.where(column[at] == rows, self._term_counts[start:end][at], 0)
            scores += idf[t] * (tf * (K1 + 1) / (tf + norm))
        return scores

    def scores(self, query: list[str]) -> np.ndarray | None:
        """BM25 (Lucene idf) of every distinct text for the query tokens, or None if no term is known.

        Row ``r`` is the text of chunk ``first_chunks[r]``; the numbers equal rank-bm25's.
        """
        terms = [t for t in map(self._term_ids.get, query) if t is not None]
        if not terms:
            return None
        idf = {t: lucene_idf(self.chunk_count, int(self._chunks_with_term[t])) for t in terms}
        return self._exact_scores(np.arange(len(self._first_chunk)), terms, idf)

    @property
    def first_chunks(self) -> np.ndarray:
        """The first chunk of each distinct text, by row."""
        return self._first_chunk

    @property
    def nbytes(self) -> int:
        """Bytes held in the index's arrays (the term dictionary and chunk texts not counted)."""
        arrays = (
            self._first_chunk,
            self._term_starts,
            self._term_rows,
            self._term_counts,
            self._term_weights,
            self._chunks_with_term,
            self._length_norm,
        )
        return sum(a.nbytes for a in arrays)


class IndexCache:
    """A bounded LRU of :class:`BM25Index` by document sha256; thread-safe for sync activities."""

    def __init__(self, max_documents: int = DEFAULT_CACHE_DOCUMENTS) -> None:
        if max_documents < 1:
            raise ValueError(f"max_documents must be at least 1; got {max_documents}")
        self.max_documents = max_documents
        self.hits = 0
        self.misses = 0
        self._indexes: OrderedDict[str, BM25Index] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, document: IngestedDocument, text: str) -> BM25Index:
        """The index of ``document`` (chunk offsets into ``text``), built on first use."""
        with self._lock:
            index = self._indexes.get(document.sha256)
            if index is not None:
                self._indexes.move_to_end(document.sha256)
                self.hits += 1
                return index
            self.misses += 1
        index = BM25Index(document, text)
        with self._lock:
            self._indexes[document.sha256] = index
            while len(self._indexes) > self.max_documents:
                self._indexes.popitem(last=False)
        return index

    def peek(self, sha256: str) -> BM25Index | None:
        """The cached index for ``sha256``, or None; never builds one."""
        with self._lock:
            index = self._indexes.get(sha256)
            if index is not None:
                self._indexes.move_to_end(sha256)
                self.hits += 1
            return index

    def __len__(self) -> int:
        return len(self._indexes)
