"""BM25 retrieval over a document's chunks, with the index cached per document per process."""

from __future__ import annotations

import math
import threading
from collections import OrderedDict

import numpy as np
from rank_bm25 import BM25Okapi

from rag_claimcheck.rag.models import IngestedDocument, Passage
from rag_claimcheck.rag.tokenize import tokenize

DEFAULT_CACHE_DOCUMENTS = 8
"""How many documents' indexes one worker process keeps."""
DUPLICATE_POOL_FACTOR = 32
"""Look this many times ``top_k`` deep for distinct passages (a document repeated 32 times still yields k)."""


class _PositiveIdfBM25(BM25Okapi):
    """BM25 with Lucene's idf, ``log(1 + (N - n + 0.5) / (n + 0.5))``, which is never negative.

    rank-bm25's Okapi idf is negative for a term in more than half of the chunks, and zero or
    negative for every term of a one- or two-chunk document, which then retrieves nothing.
    """

    def _calc_idf(self, nd: dict[str, int]) -> None:
        self.idf = {
            word: math.log(1 + (self.corpus_size - freq + 0.5) / (freq + 0.5)) for word, freq in nd.items()
        }


class BM25Index:
    """A BM25 index over one document's chunks (``document``'s offsets into ``text``)."""

    def __init__(self, document: IngestedDocument, text: str) -> None:
        self.sha256 = document.sha256
        self.texts = document.chunk_texts(text)
        tokenized = [tokenize(text) for text in self.texts]
        # rank-bm25 divides by the corpus size; an empty corpus has nothing to retrieve anyway.
        self._bm25 = _PositiveIdfBM25(tokenized) if tokenized else None

    def search(self, question: str, top_k: int) -> list[Passage]:
        """The ``top_k`` best chunks for ``question``, best first (ties: earlier chunk first).

        Chunks with the same text as a better one (repeated boilerplate) are skipped, so the
        passages are distinct.
        """
        query = tokenize(question)
        if self._bm25 is None or not query:
            return []
        scores = self._bm25.get_scores(query)
        pool = min(len(scores), top_k * DUPLICATE_POOL_FACTOR)
        passages = self._distinct(scores, np.argpartition(-scores, pool - 1)[:pool], top_k)
        if len(passages) < top_k and pool < len(scores):
            # The pool was all copies of a few passages (a heavily repeated document): rank everything.
            passages = self._distinct(scores, np.arange(len(scores)), top_k)
        return passages

    def _distinct(self, scores: np.ndarray, candidates: np.ndarray, top_k: int) -> list[Passage]:
        passages: list[Passage] = []
        seen: set[str] = set()
        for i in sorted(candidates, key=lambda i: (-scores[i], i)):
            if scores[i] <= 0:
                break
            text = self.texts[i]
            if text in seen:
                continue
            seen.add(text)
            passages.append(Passage(chunk_index=int(i), score=round(float(scores[i]), 4), text=text))
            if len(passages) == top_k:
                break
        return passages


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
