"""Plots of history sizes and counts: units that fit, limits only where they apply, legends off the data."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator, NullFormatter

from rag_claimcheck.observe.history import BLOB_ERROR_BYTES, BLOB_WARN_BYTES, human_bytes

MODE_COLORS = {"off": "#d62728", "codec": "#1f77b4", "extstore": "#2ca02c"}
# codec and extstore often draw the same numbers: different markers and line styles keep both visible.
MODE_STYLES: dict[str, dict[str, Any]] = {
    "off": {"marker": "o", "linestyle": "-", "markersize": 6},
    "codec": {"marker": "o", "linestyle": "-", "markersize": 11, "linewidth": 4, "alpha": 0.6},
    "extstore": {"marker": "x", "linestyle": "--", "markersize": 8, "markeredgewidth": 2, "linewidth": 1.5},
}

HISTORY_WARN_BYTES = 10 * 1024 * 1024
"""Server default ``limit.historySize.warn``: a history over this logs a warning."""
HISTORY_ERROR_BYTES = 50 * 1024 * 1024
"""Server default ``limit.historySize.error``: a history over this is terminated."""

PAYLOAD_LIMITS: Mapping[str, int] = {
    f"one payload: warn limit ({human_bytes(BLOB_WARN_BYTES)})": BLOB_WARN_BYTES,
    f"one payload: error limit ({human_bytes(BLOB_ERROR_BYTES)})": BLOB_ERROR_BYTES,
}
"""The server's default per-payload limits, for plots of single events or payloads."""
HISTORY_LIMITS: Mapping[str, int] = {
    f"whole history: warn limit ({human_bytes(HISTORY_WARN_BYTES)})": HISTORY_WARN_BYTES,
    f"whole history: error limit ({human_bytes(HISTORY_ERROR_BYTES)})": HISTORY_ERROR_BYTES,
}
"""The server's default per-history limits, for plots of a whole history's size."""


NARROW_RANGE_FACTOR = 8.0
"""A byte axis whose data spans less than this ratio gets ticks at quarter steps between powers of two."""


def bytes_axis(ax: Axes, axis: str = "y", *, limits: Mapping[str, int] | None = None) -> None:
    """Log scale in bytes with human tick labels; a labelled reference line for each of ``limits``."""
    formatter = FuncFormatter(lambda v, _pos: human_bytes(v) if v > 0 else "0")
    target = ax.yaxis if axis == "y" else ax.xaxis
    low, high = ax.get_ylim() if axis == "y" else ax.get_xlim()
    (ax.set_yscale if axis == "y" else ax.set_xscale)("log")
    # Over a narrow range a power of two or two gives one or no tick, and matplotlib then labels
    # the minor ticks in 10^x notation on top of ours: tick at quarter steps instead, label no minor.
    narrow = low > 0 and high / low < NARROW_RANGE_FACTOR
    subs = (1.0, 1.25, 1.5, 1.75) if narrow else (1.0,)
    target.set_major_locator(LogLocator(base=2.0, subs=subs, numticks=12))
    target.set_major_formatter(formatter)
    target.set_minor_formatter(NullFormatter())
    draw = ax.axhline if axis == "y" else ax.axvline
    for (label, value), style in zip((limits or {}).items(), (":", "--", "-."), strict=False):
        draw(value, color="grey", linestyle=style, linewidth=1, label=label)


def count_axis(ax: Axes, axis: str = "y") -> None:
    """A linear axis of whole numbers (events, objects, turns): integer ticks only, no units of bytes."""
    (ax.yaxis if axis == "y" else ax.xaxis).set_major_locator(MaxNLocator(integer=True))


def _finish(fig: Figure, ax: Axes, title: str) -> Figure:
    """Title, grid, and the legend to the right of the axes, where it covers no data."""
    ax.set_title(title)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, borderaxespad=0)
    ax.grid(True, which="major", alpha=0.3)
    fig.tight_layout()
    return fig


def _mode_of(label: str) -> str:
    return label.split()[0]


def plot_cumulative_history(
    frames: Mapping[str, pd.DataFrame], *, title: str, limits: Mapping[str, int] | None = None
) -> Figure:
    """Cumulative history bytes by event id, one line per run (label → history_frame).

    Args:
        frames: Label (starting with the mode) → :func:`~rag_claimcheck.observe.history.history_frame`.
        title: The figure's title.
        limits: Reference lines; default the server's whole-history limits.
    """
    fig, ax = plt.subplots(figsize=(11, 4.5))
    for label, frame in frames.items():
        mode = _mode_of(label)
        style = MODE_STYLES.get(mode, {})
        ax.step(
            frame["event_id"],
            frame["cumulative_bytes"],
            where="post",
            label=label,
            color=MODE_COLORS.get(mode),
            linestyle=style.get("linestyle", "-"),
            linewidth=4 if mode == "codec" else 1.5,
            alpha=0.6 if mode == "codec" else 1.0,
        )
    bytes_axis(ax, limits=HISTORY_LIMITS if limits is None else limits)
    count_axis(ax, "x")
    ax.set_xlabel("event id")
    ax.set_ylabel("cumulative history size (bytes, log scale)")
    return _finish(fig, ax, title)


def plot_history_vs_document(runs: pd.DataFrame, *, title: str) -> Figure:
    """Server-reported history size against document size per mode; rejected runs marked with a cross.

    A run the server rejected at start has no history: its cross sits at the top edge of the plot,
    at its document size.
    """
    fig, ax = plt.subplots(figsize=(11, 4.5))
    for mode, group in runs.groupby("mode", sort=False):
        done = group[group["status"] == "completed"]
        failed = group[group["status"] != "completed"]
        color = MODE_COLORS.get(str(mode))
        ax.plot(
            done["document_bytes"],
            done["history_bytes"],
            label=f"{mode} (drawn over codec where they coincide)" if mode == "extstore" else f"{mode}",
            color=color,
            **MODE_STYLES.get(str(mode), {"marker": "o"}),
        )
        if len(failed):
            ax.scatter(
                failed["document_bytes"],
                [0.96] * len(failed),
                transform=ax.get_xaxis_transform(),
                marker="X",
                s=120,
                color=color,
                label=f"{mode}: failed, no history size (drawn at the top)",
                clip_on=False,
            )
    bytes_axis(ax, limits=HISTORY_LIMITS)
    ax.set_ylim(top=HISTORY_ERROR_BYTES * 8)  # room above the limit lines for the failed runs' marks
    bytes_axis(ax, "x")
    ax.set_xlabel("document size (bytes, log scale)")
    ax.set_ylabel("history size reported by the server (bytes, log scale)")
    return _finish(fig, ax, title)


def plot_turns(
    turns: Mapping[str, pd.DataFrame],
    column: str,
    *,
    ylabel: str,
    title: str,
    limits: Mapping[str, int] | None = None,
    unit: str = "bytes",
) -> Figure:
    """A per-turn measure for several conversations; turns are whole numbers on the x axis.

    Args:
        turns: Label (starting with the mode) → one row per turn.
        column: The column to plot.
        ylabel: The y axis label (say the unit).
        title: The figure's title.
        limits: Reference lines, only for byte measures; none by default.
        unit: ``bytes`` (log scale, human ticks) or ``count`` (linear, integer ticks).
    """
    if unit not in ("bytes", "count"):
        raise ValueError(f"unit must be 'bytes' or 'count'; got {unit!r}")
    if unit == "count" and limits:
        raise ValueError("byte limits cannot be drawn on a count axis")
    fig, ax = plt.subplots(figsize=(11, 4.5))
    for label, frame in turns.items():
        mode = _mode_of(label)
        style = dict(MODE_STYLES.get(mode, {"marker": "o"}))
        style["markersize"] = min(style.get("markersize", 6), 5)
        ax.plot(frame["turn"], frame[column], label=label, color=MODE_COLORS.get(mode), **style)
    if unit == "bytes":
        bytes_axis(ax, limits=limits)
    else:
        count_axis(ax)
        ax.set_ylim(bottom=0)
    count_axis(ax, "x")
    ax.set_xlabel("turn (questions asked)")
    ax.set_ylabel(ylabel)
    return _finish(fig, ax, title)
