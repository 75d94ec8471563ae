"""The fast tokenizer gives exactly the tokens of the reference definitions it replaced."""

from __future__ import annotations

import random
import re

import pytest
from snowballstemmer.english_stemmer import EnglishStemmer

from rag_claimcheck.data.corpus import generate_corpus
from rag_claimcheck.data.samples import sample_qa, sample_text
from rag_claimcheck.rag.tokenize import STOPWORDS, stem_words, tokenize, tokenize_texts, words

_REFERENCE_WORD = re.compile(r"[^\W_]+(?:['\u2019][^\W_]+)*")
_SUFFIXES = (
    "",
    "s",
    "es",
    "ed",
    "ing",
    "ly",
    "er",
    "est",
    "ness",
    "ment",
    "ful",
    "fully",
    "less",
    "ation",
    "ational",
    "ization",
    "izer",
    "ise",
    "ised",
    "ive",
    "iveness",
    "ous",
    "ousness",
    "al",
    "ally",
    "ity",
    "ible",
    "able",
    "ably",
    "ence",
    "ance",
    "ies",
    "ied",
    "y",
    "ic",
    "ical",
    "ement",
)


def reference_words(text: str) -> list[str]:
    """The definition the kit used before the fast path: one regex, then cut at the apostrophe."""
    return [re.split(r"['\u2019]", m.group())[0] for m in _REFERENCE_WORD.finditer(text.casefold())]


def vocabulary() -> list[str]:
    """Over 30,000 distinct words: the handbook's, a generated corpus's, and stems with suffixes."""
    found = set(words(sample_text())) | set(words(generate_corpus(1024 * 1024).text))
    rng = random.Random(3)
    roots = sorted(w for w in found if w.isalpha())
    found |= {rng.choice(roots) + rng.choice(_SUFFIXES) for _ in range(25_000)}
    found |= {
        w + suffix
        for w in ("connect", "generate", "happy", "fly", "run", "agree", "sky")
        for suffix in _SUFFIXES
    }
    return sorted(found)


def test_pystemmer_gives_the_pure_python_snowball_stems() -> None:
    vocab = vocabulary()
    assert len(vocab) > 30_000
    reference = EnglishStemmer()
    expected = [reference.stemWord(w) for w in vocab]
    differ = [(w, e, g) for w, e, g in zip(vocab, expected, stem_words(vocab), strict=True) if e != g]
    assert differ == []


def test_the_ascii_fast_path_splits_words_as_the_regex_does() -> None:
    rng = random.Random(5)
    alphabet = "abcXYZ019_'- .,\n\t()"
    cases = ["".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 40))) for _ in range(5_000)]
    cases += ["don't", "rock'n'roll", "a''b", "'abc'def", "x'_y", "It's 9'o", "_a_", "'", "a'"]
    for text in cases:
        assert words(text) == reference_words(text), text


@pytest.mark.parametrize(
    "text", ["Straße Café naïve", "Lanternfish\u2019s port", "ÉCOLE d\u2019été", "x\u00a0y"]
)
def test_non_ascii_text_takes_the_unicode_path(text: str) -> None:
    assert words(text) == reference_words(text)


def test_tokenize_texts_gives_each_texts_tokens() -> None:
    texts = [*sample_text().split("\n\n"), "", "the of and", "Straße Café's naïve", "don't stop"]
    tokens = tokenize_texts(texts)
    for i, text in enumerate(texts):
        ids = tokens.term_ids[tokens.offsets[i] : tokens.offsets[i + 1]]
        assert [tokens.terms[t] for t in ids] == tokenize(text)
    assert len(set(tokens.terms)) == len(tokens.terms)


def test_tokenize_texts_of_nothing() -> None:
    tokens = tokenize_texts([])
    assert (tokens.terms, list(tokens.term_ids), list(tokens.offsets)) == ([], [], [0])


def test_questions_tokenize_as_before() -> None:
    for pair in sample_qa():
        expected = [
            EnglishStemmer().stemWord(w) for w in reference_words(pair.question) if w not in STOPWORDS
        ]
        assert tokenize(pair.question) == expected
