"""The tokenizer BM25 and the extractive answerer share: case-folded, punctuation stripped, stemmed.

A word is a run of letters and digits (``_`` separates words); an apostrophe inside a word ends
it (``"Lanternfish's"`` → ``"lanternfish"``, ``"don't"`` → ``"don"``). English stopwords are
dropped and the rest is Snowball-stemmed with PyStemmer (the Snowball algorithms compiled to C).

:func:`tokenize` serves one text (a question, a passage). :func:`tokenize_texts` serves an index
build: it tokenizes ASCII texts with one byte translation and split each, maps every distinct word
to a term id once, and stems and stopword-checks each distinct word once.
"""

from __future__ import annotations

import itertools
import re
import threading
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import Stemmer

_WORD = re.compile(r"[^\W_]+(?:['\u2019][^\W_]+)*")
_APOSTROPHE = re.compile(r"['\u2019]")

# The ASCII fast path: letters and digits kept (upper case folded), every other byte a space;
# what follows an apostrophe inside a word is cut first, as _WORD does.
_ASCII_FOLD = bytes(
    b + 32 if 65 <= b <= 90 else b if (48 <= b <= 57 or 97 <= b <= 122) else 32 for b in range(256)
)
_ASCII_CONTINUATION = re.compile(rb"(?<=[A-Za-z0-9])(?:'[A-Za-z0-9]+)+")

STOPWORDS = frozenset(
    """a about above after again against all am an and any are as at be because been before being
    below between both but by can could did do does doing down during each few for from further had
    has have having he her here hers herself him himself his how i if in into is it its itself just
    me more most my myself no nor not of off on once only or other our ours ourselves out over own
    same she should so some such than that the their theirs them themselves then there these they
    this those through to too under until up very was we were what when where which while who whom
    why will with would you your yours yourself yourselves""".split()
)

# A Stemmer keeps working state on the object; activities tokenize in several threads at once.
_local = threading.local()


def _stemmer() -> Stemmer.Stemmer:
    stemmer = getattr(_local, "stemmer", None)
    if stemmer is None:
        # No cache: its upkeep costs 5x the stemming itself on a build's many distinct words.
        stemmer = _local.stemmer = Stemmer.Stemmer("english", 0)
    return stemmer


def stem_words(words: Sequence[str]) -> list[str]:
    """The English Snowball stem of each word (lower-case words in, as :func:`words` gives)."""
    return list(_stemmer().stemWords(words))


def words(text: str) -> list[str]:
    """The case-folded words of ``text``, apostrophe endings cut, stopwords kept, not stemmed."""
    if text.isascii():
        return [w.decode("ascii") for w in _ascii_words(text)]
    return [_APOSTROPHE.split(m, 1)[0] for m in _WORD.findall(text.casefold())]


def _ascii_words(text: str) -> list[bytes]:
    data = text.encode("ascii")
    if b"'" in data:
        data = _ASCII_CONTINUATION.sub(b"", data)
    return data.translate(_ASCII_FOLD).split()


def tokenize(text: str, *, drop_stopwords: bool = True, stem: bool = True) -> list[str]:
    """Case-folded word tokens, Snowball-stemmed: ``"Claim?"`` → ``["claim"]``, ``"scraped"`` → ``["scrape"]``.

    Possessives are dropped (``"Lanternfish's"`` → ``"lanternfish"``), as are English stopwords.
    """
    found = words(text)
    if drop_stopwords:
        found = [w for w in found if w not in STOPWORDS]
    return stem_words(found) if stem else found


@dataclass(frozen=True)
class TokenizedTexts:
    """Many texts as term ids: text ``i``'s tokens are ``term_ids[offsets[i]:offsets[i + 1]]``.

    ``terms[t]`` is term ``t``'s stem. Stopwords are already dropped. The same stem has one id
    however many surface words stem to it.
    """

    terms: list[str]
    term_ids: np.ndarray
    offsets: np.ndarray


def tokenize_texts(texts: Iterable[str]) -> TokenizedTexts:
    """:func:`tokenize` for every text at once, as term ids; each distinct word is stemmed once."""
    # Surface words, as bytes (ASCII texts) or str (others); one list for all texts.
    surface: list[bytes | str] = []
    counts: list[int] = []
    for text in texts:
        found: Sequence[bytes | str] = _ascii_words(text) if text.isascii() else words(text)
        counts.append(len(found))
        surface += found
    # Number the distinct surface words in order of first use, in one C-level pass: a missing
    # word takes the next number from the counter.
    numbering: defaultdict[bytes | str, int] = defaultdict(itertools.count().__next__)
    word_ids = np.fromiter(map(numbering.__getitem__, surface), dtype=np.int32, count=len(surface))
    del surface
    # Each distinct word: its text, stopword or not, stem, and the stem's term id.
    distinct = [w.decode("ascii") if isinstance(w, bytes) else w for w in numbering]
    del numbering
    term_of_word = np.full(len(distinct), -1, dtype=np.int32)
    kept = [i for i, w in enumerate(distinct) if w not in STOPWORDS]
    stems = stem_words([distinct[i] for i in kept])
    term_numbering: dict[str, int] = {}
    for i, s in zip(kept, stems, strict=True):
        term_of_word[i] = term_numbering.setdefault(s, len(term_numbering))
    token_terms = term_of_word[word_ids]
    keep = token_terms >= 0
    # Kept tokens before each text's first token: a running count, read at the texts' boundaries.
    kept_before = np.zeros(len(keep) + 1, dtype=np.int64)
    np.cumsum(keep, out=kept_before[1:])
    boundaries = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=boundaries[1:])
    return TokenizedTexts(
        terms=list(term_numbering), term_ids=token_terms[keep], offsets=kept_before[boundaries]
    )
