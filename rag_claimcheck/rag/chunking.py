"""Split text into overlapping chunks that end at paragraph or sentence boundaries.

The text is cut into *units* (sentences, list items, headings); units are packed greedily into
chunks of at most ``max_chars``; a chunk is closed early at a paragraph break once it is
reasonably full; the next chunk starts with the last units of the previous one, up to
``overlap_chars``, so a fact that straddles a boundary is whole in at least one chunk.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rag_claimcheck.rag.models import Chunk

DEFAULT_MAX_CHARS = 1200
DEFAULT_OVERLAP_CHARS = 200
PARAGRAPH_CLOSE_FILL = 0.6
"""Close a chunk at a paragraph break once it holds at least this fraction of ``max_chars``."""

_PARAGRAPH = re.compile(r"\S[\s\S]*?(?=\n[ \t]*\n|\s*\Z)")
_UNIT_BREAK = re.compile(r"(?<=[.!?])[\"')\]]*\s+|\n+")


@dataclass(frozen=True)
class _Unit:
    start: int
    end: int
    opens_paragraph: bool

    @property
    def length(self) -> int:
        return self.end - self.start


def _units(text: str, max_chars: int) -> list[_Unit]:
    units: list[_Unit] = []
    for para in _PARAGRAPH.finditer(text):
        first = True
        pos = para.start()
        pieces = [m.start() for m in _UNIT_BREAK.finditer(text, para.start(), para.end())]
        ends = [*pieces, para.end()]
        for end in ends:
            span_start = pos
            # skip whitespace the break consumed
            while span_start < end and text[span_start].isspace():
                span_start += 1
            if span_start < end:
                for s, e in _hard_split(text, span_start, end, max_chars):
                    units.append(_Unit(s, e, first))
                    first = False
            match_end = _UNIT_BREAK.match(text, end)
            pos = match_end.end() if match_end and end < para.end() else end
    return units


def _hard_split(text: str, start: int, end: int, max_chars: int) -> list[tuple[int, int]]:
    """Split a unit longer than ``max_chars`` at whitespace (or hard, if it has none)."""
    spans = []
    while end - start > max_chars:
        cut = text.rfind(" ", start + 1, start + max_chars)
        cut = cut if cut > start else start + max_chars
        spans.append((start, cut))
        start = cut
        while start < end and text[start].isspace():
            start += 1
    if start < end:
        spans.append((start, end))
    return spans


def chunk_text(
    text: str, *, max_chars: int = DEFAULT_MAX_CHARS, overlap_chars: int = DEFAULT_OVERLAP_CHARS
) -> list[Chunk]:
    """Split ``text`` into chunks; see the module docstring for the rules."""
    if max_chars < 50:
        raise ValueError(f"max_chars must be at least 50; got {max_chars}")
    if not 0 <= overlap_chars < max_chars // 2:
        raise ValueError(f"overlap_chars must be from 0 to less than half of max_chars; got {overlap_chars}")
    units = _units(text, max_chars)
    chunks: list[Chunk] = []
    i = 0
    while i < len(units):
        j = i
        length = 0
        while j < len(units):
            unit = units[j]
            new_length = unit.end - units[i].start
            if j > i and new_length > max_chars:
                break
            if j > i and unit.opens_paragraph and length >= PARAGRAPH_CLOSE_FILL * max_chars:
                break
            length = new_length
            j += 1
        start, end = units[i].start, units[j - 1].end
        chunks.append(Chunk(index=len(chunks), text=text[start:end], start=start, end=end))
        if j >= len(units):
            break
        # Step back over trailing units that fit in the overlap, but always move forward.
        k = j
        while k - 1 > i and units[j - 1].end - units[k - 1].start <= overlap_chars:
            k -= 1
        i = k
    return chunks
