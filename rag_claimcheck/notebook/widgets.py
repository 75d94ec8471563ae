"""An ipywidgets control that re-runs the RAG question in a chosen mode and inline threshold.

A click schedules the run as an asyncio task. Such a task has no parent message, so anything it
printed with ``with output:`` would never reach the browser: the control writes to its widgets'
models instead (``Output.outputs``, ``HTML.value``), which works from any task.
"""

from __future__ import annotations

import asyncio
import html

import ipywidgets as widgets
import pandas as pd

from rag_claimcheck.claimcheck.settings import MODES, Mode
from rag_claimcheck.notebook.experiments import KIB, ask, document_of
from rag_claimcheck.notebook.tables import show_table
from rag_claimcheck.stack.embedded import EmbeddedStack

THRESHOLDS_KIB = (16, 64, 128, 256, 512)
COLUMNS = [
    "mode",
    "inline_max_bytes",
    "status",
    "history_bytes",
    "events",
    "store_objects",
    "store_bytes",
    "error",
]


class ModeDemo:
    """Pick a mode and an inline threshold, press Run, see history and store figures.

    While a run is in flight the button is disabled and a progress bar pulses; a second click
    starts nothing. A failure is shown in the control with its type and message.
    ``run()`` is the same action as the button, for headless runs (nbval) and for scripts.
    """

    def __init__(self, stack: EmbeddedStack, *, document_bytes: int = 1024 * KIB) -> None:
        self.stack = stack
        self.document = document_of(document_bytes)
        self.mode = widgets.ToggleButtons(options=list(MODES), value="codec", description="claim check")
        self.threshold = widgets.SelectionSlider(
            options=[(f"{k} KiB", k * KIB) for k in THRESHOLDS_KIB], value=128 * KIB, description="inline max"
        )
        self.button = widgets.Button(description="Run", button_style="primary", icon="play")
        self.status = widgets.HTML(value="")
        self.output = widgets.Output(layout=widgets.Layout(overflow="auto"))  # a wide table scrolls
        self.results: list[dict[str, object]] = []
        self.pending: asyncio.Task[dict[str, object] | None] | None = None
        self.button.on_click(lambda _b: self.click())

    @property
    def ui(self) -> widgets.Widget:
        """The control, for display."""
        controls = widgets.HBox([self.mode, self.threshold, self.button])
        return widgets.VBox([controls, self.status, self.output])

    @property
    def running(self) -> bool:
        """Whether a run is in flight."""
        return self.pending is not None and not self.pending.done()

    def click(self) -> asyncio.Task[dict[str, object] | None] | None:
        """What the button does: start a run with the current choices, unless one is running.

        Returns the task of the run in flight (the new one, or the one already running).
        """
        if not self.running:
            self._set_busy(True)  # at once, before the task first runs: the next click sees it
            self.pending = asyncio.ensure_future(self._guarded(self.mode.value, self.threshold.value))
        return self.pending

    async def _guarded(self, mode: Mode, inline_max_bytes: int) -> dict[str, object] | None:
        try:
            return await self.run(mode, inline_max_bytes)
        except Exception as e:  # shown in the control; a click has nobody else to tell
            self.status.value = (
                f"<span style='color:#b00020'><b>{type(e).__name__}</b>: {html.escape(str(e))}</span>"
            )
            return None

    async def run(self, mode: Mode, inline_max_bytes: int) -> dict[str, object]:
        """Ask the question in ``mode`` with ``inline_max_bytes``; show and return the row."""
        what = f"<b>{mode}</b>, inline max {inline_max_bytes // KIB} KiB"
        self._set_busy(True)
        ticker = asyncio.ensure_future(self._tick(what))
        try:
            _, row = await ask(self.stack, mode, self.document, inline_max_bytes=inline_max_bytes)
        finally:
            ticker.cancel()
            self._set_busy(False)
        row["inline_max_bytes"] = inline_max_bytes
        self.results.append(row)
        self.status.value = f"done: {what}, {row['status']}"
        self.show()
        return row

    def table(self) -> pd.DataFrame:
        """Every run so far, one row each."""
        return pd.DataFrame(self.results, columns=COLUMNS)

    def show(self) -> None:
        """Replace the output with the current table (works from any task)."""
        styled = show_table(self.table(), bytes_columns=["inline_max_bytes", "history_bytes", "store_bytes"])
        self.output.outputs = (
            {"output_type": "display_data", "data": {"text/html": styled.to_html()}, "metadata": {}},
        )

    async def _tick(self, what: str) -> None:
        """The progress indicator: the seconds this run has taken so far, every half second."""
        loop = asyncio.get_running_loop()
        started = loop.time()
        while True:
            self.status.value = f"running {what} … {loop.time() - started:.0f} s"
            await asyncio.sleep(0.5)

    def _set_busy(self, busy: bool) -> None:
        self.button.disabled = busy
        self.button.description = "Running…" if busy else "Run"
        self.button.icon = "hourglass-half" if busy else "play"
