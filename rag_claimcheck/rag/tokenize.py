"""The tokenizer BM25 and the extractive answerer share: case-folded, punctuation stripped, stemmed."""

from __future__ import annotations

import re
import threading
from functools import lru_cache

import snowballstemmer

_WORD = re.compile(r"[^\W_]+(?:['\u2019][^\W_]+)*")

STOPWORDS = frozenset(
    """a about above after again against all am an and any are as at be because been before being
    below between both but by can could did do does doing down during each few for from further had
    has have having he her here hers herself him himself his how i if in into is it its itself just
    me more most my myself no nor not of off on once only or other our ours ourselves out over own
    same she should so some such than that the their theirs them themselves then there these they
    this those through to too under until up very was we were what when where which while who whom
    why will with would you your yours yourself yourselves""".split()
)


_STEMMER = snowballstemmer.stemmer("english")
# The stemmer keeps its working state on the object, and tokenize runs in several activity
# threads at once: unguarded, concurrent calls corrupt each other's stems (and the cache keeps them).
_STEMMER_LOCK = threading.Lock()


@lru_cache(maxsize=200_000)
def _stem(word: str) -> str:
    with _STEMMER_LOCK:
        return str(_STEMMER.stemWord(word))


def tokenize(text: str, *, drop_stopwords: bool = True, stem: bool = True) -> list[str]:
    """Case-folded word tokens, Snowball-stemmed: ``"Claim?"`` → ``["claim"]``, ``"scraped"`` → ``["scrape"]``.

    Possessives are dropped (``"Lanternfish's"`` → ``"lanternfish"``), as are English stopwords.
    """
    tokens = []
    for match in _WORD.finditer(text.casefold()):
        word = re.split(r"['\u2019]", match.group())[0]
        if word and not (drop_stopwords and word in STOPWORDS):
            tokens.append(_stem(word) if stem else word)
    return tokens
