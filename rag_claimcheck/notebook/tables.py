"""Tables with raw byte counts next to human-readable ones."""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from rag_claimcheck.history import human_bytes


def with_human_bytes(frame: pd.DataFrame, columns: Iterable[str]) -> pd.DataFrame:
    """Add a ``<column> (human)`` column after each byte column; missing values stay empty."""
    out = frame.copy()
    for column in columns:
        position = list(out.columns).index(column) + 1
        out.insert(
            position, f"{column} (human)", out[column].map(lambda v: "" if pd.isna(v) else human_bytes(v))
        )
    return out
