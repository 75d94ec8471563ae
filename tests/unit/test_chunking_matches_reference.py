"""The fast chunker cuts exactly where the plain, paragraph-by-paragraph reference rules cut.

The reference below is the original implementation of the rules in
:mod:`rag_claimcheck.rag.chunking`: paragraphs by a lazy regex, sentence breaks by a
look-behind regex scanned one paragraph at a time. The kit's chunker finds the same breaks in
one scan of the whole text (and with numpy), which is ~10x faster on a 100 MiB document.
"""

from __future__ import annotations

import random
import re

import pytest

from rag_claimcheck.data.corpus import generate_corpus
from rag_claimcheck.data.samples import sample_text
from rag_claimcheck.rag.chunking import PARAGRAPH_CLOSE_FILL, _hard_split, chunk_spans

_PARAGRAPH = re.compile(r"\S[\s\S]*?(?=\n[ \t]*\n|\s*\Z)")
_UNIT_BREAK = re.compile(r"(?<=[.!?])[\"')\]]*\s+|\n+")


def reference_units(text: str, max_chars: int) -> list[tuple[int, int, bool]]:
    units = []
    for para in _PARAGRAPH.finditer(text):
        first = True
        pos = para.start()
        pieces = [m.start() for m in _UNIT_BREAK.finditer(text, para.start(), para.end())]
        for end in [*pieces, para.end()]:
            span_start = pos
            while span_start < end and text[span_start].isspace():
                span_start += 1
            if span_start < end:
                for s, e in _hard_split(text, span_start, end, max_chars):
                    units.append((s, e, first))
                    first = False
            match_end = _UNIT_BREAK.match(text, end)
            pos = match_end.end() if match_end and end < para.end() else end
    return units


def reference_spans(text: str, max_chars: int, overlap_chars: int) -> tuple[list[int], list[int]]:
    units = reference_units(text, max_chars)
    starts, ends = [], []
    i = 0
    while i < len(units):
        j, length = i, 0
        while j < len(units):
            new_length = units[j][1] - units[i][0]
            if j > i and new_length > max_chars:
                break
            if j > i and units[j][2] and length >= PARAGRAPH_CLOSE_FILL * max_chars:
                break
            length = new_length
            j += 1
        starts.append(units[i][0])
        ends.append(units[j - 1][1])
        if j >= len(units):
            break
        k = j
        while k - 1 > i and units[j - 1][1] - units[k - 1][0] <= overlap_chars:
            k -= 1
        i = k
    return starts, ends


def random_texts(count: int) -> list[str]:
    rnd = random.Random(20261121)
    alphabet = "ab .!?\"')]\n\t \x0b\r\u00a0\u2028é"
    return ["".join(rnd.choice(alphabet) for _ in range(rnd.randint(0, 600))) for _ in range(count)]


@pytest.mark.parametrize(("max_chars", "overlap"), [(1200, 200), (300, 80), (100, 0), (50, 20)])
def test_random_texts_are_cut_where_the_reference_cuts(max_chars: int, overlap: int) -> None:
    for text in random_texts(400):
        expected = reference_spans(text, max_chars, overlap)
        assert chunk_spans(text, max_chars=max_chars, overlap_chars=overlap) == expected, repr(text)


def test_the_handbook_and_the_benchmark_corpus_are_cut_where_the_reference_cuts() -> None:
    for text in (sample_text(), generate_corpus(256 * 1024).text, "  \n\n Hello there.\n\n\n"):
        assert chunk_spans(text) == reference_spans(text, 1200, 200)
