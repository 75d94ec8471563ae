"""Split text into overlapping chunks that end at paragraph or sentence boundaries.

The text is cut into *units* (sentences, list items, headings); units are packed greedily into
chunks of at most ``max_chars``; a chunk is closed early at a paragraph break once it is
reasonably full; the next chunk starts with the last units of the previous one, up to
``overlap_chars``, so a fact that straddles a boundary is whole in at least one chunk.

:func:`chunk_spans` returns only the chunks' character offsets (what ingest sends on), so a large
document is never copied into chunk strings; :func:`chunk_text` adds the texts.
"""

from __future__ import annotations

import re
from array import array
from bisect import bisect_left

import numpy as np

from rag_claimcheck.rag.models import Chunk

DEFAULT_MAX_CHARS = 1200
DEFAULT_OVERLAP_CHARS = 200
PARAGRAPH_CLOSE_FILL = 0.6
"""Close a chunk at a paragraph break once it holds at least this fraction of ``max_chars``."""

_PARAGRAPH_GAP = re.compile(r"\n[ \t]*\n\s*")
_NON_SPACE = re.compile(r"\S")
# A unit ends after sentence punctuation (and closing quotes/brackets) followed by whitespace
# (group 1), or at a line break. The pattern starts with one character class, which lets the
# regex engine skip ahead to candidates ~5x faster than an alternation or a look-behind would.
_UNIT_BREAK = re.compile(r"[.!?\n](?:(?<=[.!?])[\"')\]]*(\s+)|(?<=\n)\n*)")


BLOCK_CHARS = 4 * 1024 * 1024
"""Units are found a block of whole paragraphs at a time (about this many characters), so the
scan's temporary arrays stay a few megabytes whatever the document's size."""


def _last_non_space(text: str) -> int:
    """One past the text's last non-space character (``len(text.rstrip())`` without the copy)."""
    end = len(text)
    while end > 0 and text[end - 1].isspace():
        end -= 1
    return end


def _paragraphs(text: str) -> tuple[np.ndarray, np.ndarray]:
    """Starts and ends of the paragraphs: from a non-space character to the next blank line."""
    first = _NON_SPACE.search(text)
    if first is None:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    gaps = array("q")
    for m in _PARAGRAPH_GAP.finditer(text, first.start(), _last_non_space(text)):
        gaps.append(m.start())
        gaps.append(m.end())
    bounds = np.frombuffer(gaps, dtype=np.int64).reshape(-1, 2) if gaps else np.empty((0, 2), np.int64)
    starts = np.concatenate(([first.start()], bounds[:, 1]))
    ends = np.concatenate((bounds[:, 0], [_last_non_space(text)]))
    return starts, ends


def _units(text: str, max_chars: int) -> tuple[array[int], array[int], array[int]]:
    """Starts, ends and whether each unit opens a paragraph (three parallel arrays).

    A block of whole paragraphs at a time (:data:`BLOCK_CHARS`): no unit crosses a paragraph, so
    the blocks' units, end to end, are the whole text's.
    """
    para_starts, para_ends = _paragraphs(text)
    starts, ends, opens = array("q"), array("q"), array("b")
    first = 0
    while first < len(para_starts):
        last = int(np.searchsorted(para_starts, para_starts[first] + BLOCK_CHARS, side="left"))
        last = max(last, first + 1)
        _block_units(text, para_starts[first:last], para_ends[first:last], max_chars, starts, ends, opens)
        first = last
    return starts, ends, opens


def _block_units(
    text: str,
    para_starts: np.ndarray,
    para_ends: np.ndarray,
    max_chars: int,
    starts: array[int],
    ends: array[int],
    opens: array[int],
) -> None:
    """Append the units of consecutive paragraphs to ``starts``, ``ends`` and ``opens``.

    One scan of the paragraphs finds the unit breaks; a break counts for a paragraph when it
    starts inside it and its whitespace does too (what a scan bounded by the paragraph finds).
    Units run from a paragraph's start or a break's end to the next break or the paragraph's end.
    """
    found = array("q")
    for m in _UNIT_BREAK.finditer(text, int(para_starts[0]), int(para_ends[-1])):
        found.append(m.start())
        found.append(m.start(1))
        found.append(m.end())
    breaks = np.frombuffer(found, dtype=np.int64).reshape(-1, 3) if found else np.empty((0, 3), np.int64)
    at, ws_at, until = breaks[:, 0], breaks[:, 1], breaks[:, 2]
    para = np.searchsorted(para_starts, at, side="right") - 1
    para_end = para_ends[para]
    sentence = ws_at >= 0
    keep = (at < para_end) & (~sentence | (ws_at < para_end))
    unit_ends = np.sort(np.concatenate((at[keep] + sentence[keep], para_ends)))
    after = np.minimum(until, para_end)[keep]
    unit_starts = np.sort(np.concatenate((para_starts, after)))
    # A unit after a line break may begin with more whitespace (an indented line): skip it.
    line_break = np.flatnonzero(~sentence[keep])
    starts_list = unit_starts.tolist()
    ends_list = unit_ends.tolist()
    opens_list = np.isin(unit_starts, para_starts, assume_unique=True).tolist()
    for a in after[line_break].tolist():
        if a < len(text) and text[a].isspace():
            i = bisect_left(starts_list, a)
            nxt = _NON_SPACE.search(text, a, ends_list[i])
            starts_list[i] = nxt.start() if nxt is not None else ends_list[i]
    for s, e, o in zip(starts_list, ends_list, opens_list, strict=True):
        if s >= e:
            continue
        if e - s <= max_chars:
            starts.append(s)
            ends.append(e)
            opens.append(o)
        else:
            for k, (hs, he) in enumerate(_hard_split(text, s, e, max_chars)):
                starts.append(hs)
                ends.append(he)
                opens.append(o and k == 0)


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


def chunk_spans(
    text: str, *, max_chars: int = DEFAULT_MAX_CHARS, overlap_chars: int = DEFAULT_OVERLAP_CHARS
) -> tuple[list[int], list[int]]:
    """The chunks' start and end character offsets (two parallel lists); see the module docstring."""
    if max_chars < 50:
        raise ValueError(f"max_chars must be at least 50; got {max_chars}")
    if not 0 <= overlap_chars < max_chars // 2:
        raise ValueError(f"overlap_chars must be from 0 to less than half of max_chars; got {overlap_chars}")
    starts, ends, opens = _units(text, max_chars)
    close_fill = PARAGRAPH_CLOSE_FILL * max_chars
    n = len(starts)
    chunk_starts: list[int] = []
    chunk_ends: list[int] = []
    i = 0
    while i < n:
        first_start = starts[i]
        j = i + 1  # the first unit always fits (units are at most max_chars)
        length = ends[i] - first_start
        while j < n:
            new_length = ends[j] - first_start
            if new_length > max_chars or (opens[j] and length >= close_fill):
                break
            length = new_length
            j += 1
        last_end = ends[j - 1]
        chunk_starts.append(first_start)
        chunk_ends.append(last_end)
        if j >= n:
            break
        # Step back over trailing units that fit in the overlap, but always move forward.
        k = j
        while k - 1 > i and last_end - starts[k - 1] <= overlap_chars:
            k -= 1
        i = k
    return chunk_starts, chunk_ends


def chunk_text(
    text: str, *, max_chars: int = DEFAULT_MAX_CHARS, overlap_chars: int = DEFAULT_OVERLAP_CHARS
) -> list[Chunk]:
    """Split ``text`` into chunks; see the module docstring for the rules."""
    starts, ends = chunk_spans(text, max_chars=max_chars, overlap_chars=overlap_chars)
    return [
        Chunk(index=i, text=text[s:e], start=s, end=e)
        for i, (s, e) in enumerate(zip(starts, ends, strict=True))
    ]
