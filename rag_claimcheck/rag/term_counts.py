"""Count every text's terms at once, for an index build: a text-by-term sparse matrix, by term.

The terms are exactly :func:`~rag_claimcheck.rag.tokenize.tokenize`'s; only the way there is
faster. ASCII texts (nearly all of a typical document) are tokenized in batches without a Python
object per word: a batch is joined into one byte string, case-folded and stripped of punctuation
with one ``bytes.translate``, split into words by numpy at the letter/space edges, and each word
of up to 16 bytes is read as two 64-bit integers, which pandas numbers in one hash-table pass.
Longer words and the words of non-ASCII texts go through :func:`~rag_claimcheck.rag.tokenize.words`.
Each distinct word is stopword-checked and stemmed once. The integer keys are exact (the bytes
themselves); the one 64-bit number they are hashed to is checked against them, and should two
words ever collide, the whole count falls back to the plain path, which gives the same answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from scipy import sparse

from rag_claimcheck.rag.memory import release_free_memory
from rag_claimcheck.rag.tokenize import STOPWORDS, stem_words, tokenize_texts, words

BATCH_CHARS = 1024 * 1024
"""Characters of text tokenized per batch: bounds the temporary arrays (~40 bytes per character)."""
TRIM_EVERY_BLOCKS = 8
"""While the postings are placed, the freed blocks are handed back every this many blocks."""
COUNT_DTYPE = np.uint16
"""How often one term occurs in one text: a chunk of the kit's (1,200 characters) holds at most ~600 words."""
_FOLD = bytes(b + 32 if 65 <= b <= 90 else b if (48 <= b <= 57 or 97 <= b <= 122) else 32 for b in range(256))
_SPACE, _APOSTROPHE = 32, 39
_PAD = 17
_KEY_BYTES = 16
_MIX = np.uint64(0x9E3779B97F4A7C15)
_LOW_BYTES = np.array([(1 << (8 * n)) - 1 for n in range(8)] + [(1 << 64) - 1], dtype=np.uint64)
"""``_LOW_BYTES[n]`` keeps the low ``n`` bytes of a little-endian 64-bit word."""


@dataclass(frozen=True)
class TermCounts:
    """How often each term occurs in each text: ``counts[i, t]`` for text ``i`` and ``terms[t]``.

    ``counts`` is in compressed columns (each term's texts, in order), as an index reads it.
    """

    terms: list[str]
    counts: sparse.csc_matrix | sparse.csr_matrix
    lengths: np.ndarray
    """Each text's number of terms (stopwords not counted)."""


class _Collision(Exception):
    """Two different words hashed to one key: count again the plain way."""


class _Vocabulary:
    """Distinct surface words (by key, or by text when not keyable) and their term ids."""

    def __init__(self) -> None:
        self.keys = np.zeros(0, dtype=np.uint64)
        self.low = np.zeros(0, dtype=np.uint64)
        self.high = np.zeros(0, dtype=np.uint64)
        self.key_terms = np.zeros(0, dtype=np.int64)
        self.word_terms: dict[str, int] = {}
        self.terms: dict[str, int] = {}

    def term_ids(self, surface: list[str]) -> np.ndarray:
        """The term id of each new surface word (-1 for a stopword), numbering new stems."""
        ids = np.full(len(surface), -1, dtype=np.int64)
        kept = [i for i, w in enumerate(surface) if w not in STOPWORDS]
        for i, stem in zip(kept, stem_words([surface[i] for i in kept]), strict=True):
            ids[i] = self.terms.setdefault(stem, len(self.terms))
        return ids

    def keyed(self, keys: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
        """Term ids of distinct keys (their words' bytes in ``low``/``high``); new ones are added."""
        import pandas as pd  # imported when an index is built, not by every command that imports workflows

        known = pd.Index(self.keys).get_indexer(keys) if len(self.keys) else np.full(len(keys), -1)
        old = known >= 0
        if not (
            np.array_equal(self.low[known[old]], low[old])
            and np.array_equal(self.high[known[old]], high[old])
        ):
            raise _Collision
        new = np.flatnonzero(~old)
        result = np.empty(len(keys), dtype=np.int64)
        result[old] = self.key_terms[known[old]]
        fresh = self.term_ids(_spell(low[new], high[new]))
        result[new] = fresh
        self.keys = np.concatenate([self.keys, keys[new]])
        self.low = np.concatenate([self.low, low[new]])
        self.high = np.concatenate([self.high, high[new]])
        self.key_terms = np.concatenate([self.key_terms, fresh])
        return result

    def unkeyed(self, surface: list[str]) -> list[int]:
        """Term ids of words too long (or not ASCII) for a key."""
        new = list(dict.fromkeys(w for w in surface if w not in self.word_terms))
        for word, term in zip(new, self.term_ids(new), strict=True):
            self.word_terms[word] = int(term)
        return [self.word_terms[w] for w in surface]


def _spell(low: np.ndarray, high: np.ndarray) -> list[str]:
    """The words whose bytes are ``low``/``high`` (see :func:`_ascii_keys`)."""
    return [
        (a.to_bytes(8, "little") + b.to_bytes(8, "little")).rstrip(b"\0").decode("ascii")
        for a, b in zip(low.tolist(), high.tolist(), strict=True)
    ]


def _key_of(word: str) -> tuple[int, int]:
    data = word.encode("ascii")
    return int.from_bytes(data[:8], "little"), int.from_bytes(data[8:16], "little")


def _batch(texts: Sequence[str], vocab: _Vocabulary) -> tuple[sparse.csr_matrix, np.ndarray]:
    """The term counts of one batch of texts (rows in order), and each text's length in terms."""
    import pandas as pd
    from scipy import sparse

    rows: list[np.ndarray] = []
    low: list[np.ndarray] = []
    high: list[np.ndarray] = []
    slow_rows: list[int] = []
    slow_words: list[str] = []
    ascii_rows = [i for i, t in enumerate(texts) if t.isascii()]
    if ascii_rows:
        r, lo, hi, long_rows, long_words = _ascii_keys([texts[i] for i in ascii_rows])
        index = np.asarray(ascii_rows, dtype=np.int64)
        rows.append(index[r])
        low.append(lo)
        high.append(hi)
        slow_rows += index[long_rows].tolist()
        slow_words += long_words
    # Non-ASCII texts: their words one by one; an ASCII word of up to 16 bytes joins the keyed ones.
    extra_rows: list[int] = []
    extra_keys: list[tuple[int, int]] = []
    for i, text in enumerate(texts):
        if text.isascii():
            continue
        for word in words(text):
            if word.isascii() and len(word) <= _KEY_BYTES:
                extra_rows.append(i)
                extra_keys.append(_key_of(word))
            else:
                slow_rows.append(i)
                slow_words.append(word)
    if extra_keys:
        rows.append(np.asarray(extra_rows, dtype=np.int64))
        pairs = np.asarray(extra_keys, dtype=np.uint64).reshape(-1, 2)
        low.append(pairs[:, 0])
        high.append(pairs[:, 1])
    all_rows = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64)
    all_low = np.concatenate(low) if low else np.zeros(0, dtype=np.uint64)
    all_high = np.concatenate(high) if high else np.zeros(0, dtype=np.uint64)
    keys = all_low ^ (all_high * _MIX)
    codes, distinct = pd.factorize(keys)
    first = np.empty(len(distinct), dtype=np.int64)
    first[codes[::-1]] = np.arange(len(codes) - 1, -1, -1)
    if not (
        np.array_equal(all_low[first][codes], all_low) and np.array_equal(all_high[first][codes], all_high)
    ):
        raise _Collision
    terms = vocab.keyed(np.asarray(distinct, dtype=np.uint64), all_low[first], all_high[first])[codes]
    terms = np.concatenate([terms, np.asarray(vocab.unkeyed(slow_words), dtype=np.int64)])
    all_rows = np.concatenate([all_rows, np.asarray(slow_rows, dtype=np.int64)])
    keep = terms >= 0
    kept_rows = all_rows[keep]
    counts = sparse.csr_matrix(
        (np.ones(len(kept_rows), dtype=np.int32), (kept_rows, terms[keep])),
        shape=(len(texts), max(len(vocab.terms), 1)),
    )
    counts.sum_duplicates()
    return _narrow(counts), np.bincount(kept_rows, minlength=len(texts))


def _narrow(counts: sparse.csr_matrix) -> sparse.csr_matrix:
    """``counts`` with :data:`COUNT_DTYPE` data when every count fits (a 6-byte posting, not 8)."""
    if counts.nnz and counts.data.max() > np.iinfo(COUNT_DTYPE).max:
        return counts
    counts.data = counts.data.astype(COUNT_DTYPE)
    return counts


def _ascii_keys(texts: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """For every word of up to 16 bytes: its text, and its bytes as two little-endian integers.

    Longer words come back separately, with their texts. Words that continue after an apostrophe
    inside a word (``don't`` → ``t``) are dropped, as :func:`~rag_claimcheck.rag.tokenize.words` does.
    """
    raw = (" " + " ".join(texts) + " " * _PAD).encode("ascii")
    folded = raw.translate(_FOLD)
    letters = np.frombuffer(folded, dtype=np.uint8) != _SPACE
    edges = np.flatnonzero(letters[1:] != letters[:-1]) + 1
    starts, ends = edges[0::2], edges[1::2]
    if b"'" in raw:
        original = np.frombuffer(raw, dtype=np.uint8)
        continued = (original[starts - 1] == _APOSTROPHE) & letters[starts - 2]
        starts, ends = starts[~continued], ends[~continued]
    # The text of each word: count the words before each text's first byte (one search per text).
    first_words = np.searchsorted(starts, np.cumsum([1] + [len(t) + 1 for t in texts[:-1]]))
    rows = np.repeat(np.arange(len(texts)), np.diff(first_words, append=len(starts)))
    lengths = ends - starts
    short = lengths <= _KEY_BYTES
    long_words = [folded[s:e].decode("ascii") for s, e in zip(starts[~short], ends[~short], strict=True)]
    long_rows = rows[~short]
    starts, lengths, rows = starts[short], lengths[short], rows[short]
    # A 64-bit word at every byte offset (a strided view; the padding keeps the last ones inside).
    at = np.ndarray(shape=(len(folded) - 7,), dtype="<u8", buffer=folded, offset=0, strides=(1,))
    low = at[starts] & _LOW_BYTES[np.minimum(lengths, 8)]
    high = at[starts + 8] & _LOW_BYTES[np.maximum(lengths - 8, 0)]
    return rows, low, high, long_rows, long_words


def count_terms(texts: Sequence[str]) -> TermCounts:
    """The text-by-term counts of ``texts``, with :func:`~rag_claimcheck.rag.tokenize.tokenize`'s terms."""
    vocab = _Vocabulary()
    blocks: list[tuple[sparse.csr_matrix, np.ndarray]] = []
    try:
        start, take = 0, 256
        while start < len(texts):
            batch = texts[start : start + take]
            blocks.append(_batch(batch, vocab))
            start += len(batch)
            # Size the next batch to about BATCH_CHARS from this one's average text length.
            take = max(1, int(BATCH_CHARS * len(batch) / max(1, sum(map(len, batch)))))
    except _Collision:
        return _plain(texts)
    lengths = np.concatenate([n for _, n in blocks] or [np.zeros(0, np.int64)])
    matrices = [b for b, _ in blocks]
    blocks.clear()
    counts = _by_term(matrices, rows=len(texts), columns=len(vocab.terms))
    return TermCounts(terms=list(vocab.terms), counts=counts, lengths=lengths)


def _by_term(blocks: list[sparse.csr_matrix], *, rows: int, columns: int) -> sparse.csc_matrix:
    """The blocks' rows end to end, in compressed columns (term by term, what an index reads).

    Every posting is placed once in arrays sized from a first count per term, and each block is
    freed as it is placed, so the postings exist about once (not as CSR and CSC side by side).
    """
    from scipy import sparse

    per_term = np.zeros(columns, dtype=np.int64)
    for block in blocks:
        per_term[: block.shape[1]] += np.bincount(block.indices, minlength=block.shape[1])
    starts = np.concatenate(([0], np.cumsum(per_term)))
    dtype = np.result_type(*(b.data.dtype for b in blocks)) if blocks else np.dtype(COUNT_DTYPE)
    row_ids = np.empty(int(starts[-1]), dtype=np.int32)
    counts = np.empty(int(starts[-1]), dtype=dtype)
    cursor = starts[:-1].copy()
    first_row = 0
    while blocks:
        block = blocks.pop(0).tocsc()
        block.sort_indices()
        placed = np.diff(block.indptr)
        width = len(placed)
        where = np.repeat(cursor[:width] - block.indptr[:-1], placed) + np.arange(block.nnz)
        row_ids[where] = block.indices + first_row
        counts[where] = block.data
        cursor[:width] += placed
        first_row += block.shape[0]
        del block, where
        if len(blocks) % TRIM_EVERY_BLOCKS == 0:
            release_free_memory()
    return sparse.csc_matrix((counts, row_ids, starts), shape=(rows, columns))


def _plain(texts: Sequence[str]) -> TermCounts:
    from scipy import sparse

    tokens = tokenize_texts(texts)
    counts = sparse.csr_matrix(
        (np.ones(len(tokens.term_ids), dtype=np.int32), tokens.term_ids, tokens.offsets),
        shape=(len(texts), len(tokens.terms)),
    )
    counts.sum_duplicates()
    return TermCounts(terms=tokens.terms, counts=counts, lengths=np.diff(tokens.offsets))
