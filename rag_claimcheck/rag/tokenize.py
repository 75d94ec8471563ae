"""The tokenizer BM25 and the extractive answerer share: case-folded words, punctuation stripped."""

from __future__ import annotations

import re

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


def tokenize(text: str, *, drop_stopwords: bool = True) -> list[str]:
    """Lower-cased (Unicode case-folded) word tokens; ``"Claim?"`` becomes ``["claim"]``.

    Apostrophes inside words are kept out (``"Lanternfish's"`` gives ``"lanternfish"``).
    """
    tokens = []
    for match in _WORD.finditer(text.casefold()):
        word = re.split(r"['\u2019]", match.group())[0]
        if word and not (drop_stopwords and word in STOPWORDS):
            tokens.append(word)
    return tokens
