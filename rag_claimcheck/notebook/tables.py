"""Tables a reader can trust: counts as integers, raw bytes next to human ones, text wrapped, not cut."""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd
from pandas.io.formats.style import Styler

from rag_claimcheck.observe.history import human_bytes

SHORT_TEXT_CHARS = 24
"""Text columns up to this many characters never wrap (a mode, a status, an error type)."""
TEXT_MIN_WIDTH = "16em"
TEXT_MAX_WIDTH = "36em"
"""Longer text (messages, snippets) wraps within these widths instead of widening the table."""


def with_human_bytes(frame: pd.DataFrame, columns: Iterable[str]) -> pd.DataFrame:
    """Add a ``<column> (human)`` column after each byte column; missing values stay empty."""
    out = frame.copy()
    for column in columns:
        position = list(out.columns).index(column) + 1
        out.insert(
            position, f"{column} (human)", out[column].map(lambda v: "" if pd.isna(v) else human_bytes(v))
        )
    return out


def as_counts(frame: pd.DataFrame) -> pd.DataFrame:
    """Whole-number float columns (counts, byte sizes with gaps) as nullable integers.

    A column with a missing value (a failed run has no history size) is float in pandas and
    would print as ``345306.0`` and ``NaN``; as ``Int64`` it prints ``345306`` and ``<NA>``.
    """
    out = frame.copy()
    for column in out.columns:
        values = out[column]
        if pd.api.types.is_float_dtype(values):
            present = values.dropna()
            if (present == present.round()).all():
                out[column] = values.round().astype("Int64")
    return out


def show_table(frame: pd.DataFrame, *, bytes_columns: Iterable[str] = (), hide_index: bool = True) -> Styler:
    """``frame`` for display: integer counts, human bytes, text left-aligned and wrapped in full.

    Args:
        frame: The table.
        bytes_columns: Columns of byte counts; each gets a ``(human)`` twin.
        hide_index: Hide the row index (usually a meaningless range).
    """
    table = with_human_bytes(as_counts(frame), bytes_columns)
    text = [c for c in table.columns if table[c].dtype == object or pd.api.types.is_string_dtype(table[c])]
    long_text = [c for c in text if table[c].astype(str).str.len().max() > SHORT_TEXT_CHARS]
    short_text = [c for c in text if c not in long_text]
    styled = table.style.format(na_rep="—", precision=3)  # a random id per table: their CSS must not collide
    if hide_index:
        styled = styled.hide(axis="index")
    styled = styled.set_properties(subset=short_text, **{"text-align": "left", "white-space": "nowrap"})
    styled = styled.set_properties(
        subset=long_text,
        **{
            "text-align": "left",
            "white-space": "pre-wrap",
            "overflow-wrap": "anywhere",
            "min-width": TEXT_MIN_WIDTH,
            "max-width": TEXT_MAX_WIDTH,
        },
    )
    return styled.set_table_styles([{"selector": "th", "props": [("text-align", "left")]}])
