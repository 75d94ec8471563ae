"""An ipywidgets control that re-runs the RAG question in a chosen mode and inline threshold."""

from __future__ import annotations

import asyncio

import ipywidgets as widgets
import pandas as pd
from IPython.display import display

from rag_claimcheck.embedded import EmbeddedStack
from rag_claimcheck.notebook.experiments import KIB, ask, document_of
from rag_claimcheck.notebook.tables import with_human_bytes
from rag_claimcheck.settings import MODES, Mode

THRESHOLDS_KIB = (16, 64, 128, 256, 512)


class ModeDemo:
    """Pick a mode and an inline threshold, press Run, see history and store figures.

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
        self.output = widgets.Output()
        self.results: list[dict[str, object]] = []
        self.pending: asyncio.Future[dict[str, object]] | None = None
        self.button.on_click(lambda _b: self._schedule())

    @property
    def ui(self) -> widgets.Widget:
        """The control, for display."""
        return widgets.VBox([widgets.HBox([self.mode, self.threshold, self.button]), self.output])

    def _schedule(self) -> None:
        self.pending = asyncio.ensure_future(self.run(self.mode.value, self.threshold.value))

    async def run(self, mode: Mode, inline_max_bytes: int) -> dict[str, object]:
        """Ask the question in ``mode`` with ``inline_max_bytes``; show and return the row."""
        _, row = await ask(self.stack, mode, self.document, inline_max_bytes=inline_max_bytes)
        row["inline_max_bytes"] = inline_max_bytes
        self.results.append(row)
        frame = pd.DataFrame(self.results)[
            [
                "mode",
                "inline_max_bytes",
                "status",
                "history_bytes",
                "events",
                "store_objects",
                "store_bytes",
                "error",
            ]
        ]
        self.output.clear_output(wait=True)
        with self.output:
            display(with_human_bytes(frame, ["inline_max_bytes", "history_bytes", "store_bytes"]))
        return row
