"""Plots of history sizes: log byte axes with human ticks and the server's limits drawn in."""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator

from rag_claimcheck.history import BLOB_ERROR_BYTES, BLOB_WARN_BYTES, human_bytes

MODE_COLORS = {"off": "#d62728", "codec": "#1f77b4", "extstore": "#2ca02c"}


def bytes_axis(
    ax: Axes, axis: str = "y", *, limits: bool = True, limit_values: Mapping[str, int] | None = None
) -> None:
    """Log scale in bytes with human tick labels; optional reference lines at the server's limits."""
    formatter = FuncFormatter(lambda v, _pos: human_bytes(v) if v > 0 else "0")
    if axis == "y":
        ax.set_yscale("log")
        ax.yaxis.set_major_locator(LogLocator(base=2.0, numticks=12))
        ax.yaxis.set_major_formatter(formatter)
    else:
        ax.set_xscale("log")
        ax.xaxis.set_major_locator(LogLocator(base=2.0, numticks=12))
        ax.xaxis.set_major_formatter(formatter)
    if not limits:
        return
    values = limit_values or {
        f"payload warn limit ({human_bytes(BLOB_WARN_BYTES)})": BLOB_WARN_BYTES,
        f"payload error limit ({human_bytes(BLOB_ERROR_BYTES)})": BLOB_ERROR_BYTES,
    }
    draw = ax.axhline if axis == "y" else ax.axvline
    for (label, value), style in zip(values.items(), (":", "--", "-."), strict=False):
        draw(value, color="grey", linestyle=style, linewidth=1, label=label)


def plot_cumulative_history(frames: Mapping[str, pd.DataFrame], *, title: str) -> Figure:
    """Cumulative history bytes by event id, one line per run (label → history_frame)."""
    fig, ax = plt.subplots(figsize=(9, 4.5))
    for label, frame in frames.items():
        mode = label.split()[0]
        ax.step(
            frame["event_id"],
            frame["cumulative_bytes"],
            where="post",
            label=label,
            color=MODE_COLORS.get(mode),
        )
    bytes_axis(ax)
    ax.set_xlabel("event id (events)")
    ax.set_ylabel("cumulative history size (bytes, log scale)")
    ax.set_title(title)
    ax.legend(loc="lower right", fontsize=8)
    ax.grid(True, which="major", alpha=0.3)
    fig.tight_layout()
    return fig


def plot_history_vs_document(runs: pd.DataFrame, *, title: str) -> Figure:
    """Server-reported history size against document size per mode; failed runs marked with x."""
    fig, ax = plt.subplots(figsize=(9, 4.5))
    for mode, group in runs.groupby("mode", sort=False):
        done = group[group["status"] == "completed"]
        failed = group[group["status"] != "completed"]
        color = MODE_COLORS.get(str(mode))
        ax.plot(done["document_bytes"], done["history_bytes"], marker="o", label=f"{mode}", color=color)
        if len(failed):
            ax.scatter(
                failed["document_bytes"],
                [BLOB_ERROR_BYTES * 2] * len(failed),
                marker="x",
                s=80,
                color=color,
                label=f"{mode}: rejected by the server",
            )
    bytes_axis(ax)
    bytes_axis(ax, "x", limits=False)
    ax.set_xlabel("document size (bytes, log scale)")
    ax.set_ylabel("history size reported by the server (bytes, log scale)")
    ax.set_title(title)
    ax.legend(loc="upper left", fontsize=8)
    ax.grid(True, which="major", alpha=0.3)
    fig.tight_layout()
    return fig


def plot_turns(
    turns: Mapping[str, pd.DataFrame],
    column: str,
    *,
    ylabel: str,
    title: str,
    limits: Mapping[str, int] | None = None,
) -> Figure:
    """A per-turn measure (e.g. history bytes) for several conversations."""
    fig, ax = plt.subplots(figsize=(9, 4.5))
    for label, frame in turns.items():
        ax.plot(
            frame["turn"], frame[column], marker=".", label=label, color=MODE_COLORS.get(label.split()[0])
        )
    bytes_axis(ax, limits=limits is not None, limit_values=limits)
    ax.set_xlabel("turn (questions asked)")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(loc="lower right", fontsize=8)
    ax.grid(True, which="major", alpha=0.3)
    fig.tight_layout()
    return fig
