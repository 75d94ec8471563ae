"""Notebook plots say what they measure: byte axes in bytes, count axes in whole numbers."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import pandas as pd
import pytest
from matplotlib.figure import Figure

from rag_claimcheck.notebook.plots import plot_turns

TURNS = list(range(1, 21))


def tick_labels(fig: Figure, *, minor: bool = False) -> list[str]:
    fig.canvas.draw()
    ax = fig.axes[0]
    lo, hi = ax.get_ylim()
    ticks = ax.yaxis.get_minorticklabels() if minor else ax.yaxis.get_majorticklabels()
    return [t.get_text() for t in ticks if t.get_text() and lo <= t.get_position()[1] <= hi]


def test_a_narrow_byte_axis_has_several_human_labels_and_no_scientific_minor_labels() -> None:
    # A conversation's store growing from 228 KiB to 380 KiB: less than one power of two.
    frame = pd.DataFrame({"turn": TURNS, "store_bytes": [233_000 + 7_500 * t for t in TURNS]})
    fig = plot_turns({"codec": frame}, "store_bytes", ylabel="bytes (log scale)", title="t")
    labels = tick_labels(fig)
    assert len(labels) >= 2, labels
    assert all(label.endswith("KiB") for label in labels), labels
    assert tick_labels(fig, minor=True) == []


def test_a_wide_byte_axis_ticks_at_powers_of_two() -> None:
    frame = pd.DataFrame({"turn": TURNS, "history_bytes": [16_384 * 2**t for t in range(20)]})
    fig = plot_turns({"off": frame}, "history_bytes", ylabel="bytes (log scale)", title="t")
    labels = tick_labels(fig)
    assert "1.0 MiB" in labels and all(label.endswith("iB") for label in labels), labels
    assert tick_labels(fig, minor=True) == []


def test_a_count_axis_has_whole_number_ticks_only() -> None:
    frame = pd.DataFrame({"turn": TURNS[:5], "store_objects": [2, 2, 3, 4, 5]})
    fig = plot_turns({"codec": frame}, "store_objects", ylabel="objects", title="t", unit="count")
    fig.canvas.draw()
    ticks = [t for t in fig.axes[0].get_yticks() if 0 <= t <= 5]
    assert ticks and all(float(t).is_integer() for t in ticks), ticks


def test_byte_limits_cannot_be_drawn_on_a_count_axis() -> None:
    frame = pd.DataFrame({"turn": [1], "store_objects": [2]})
    with pytest.raises(ValueError, match="byte limits cannot be drawn on a count axis"):
        plot_turns({"codec": frame}, "store_objects", ylabel="o", title="t", unit="count", limits={"x": 1})
