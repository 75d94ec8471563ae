"""The mode widget: a click writes its result to the widget's models, shows it is busy, and shows errors."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from rag_claimcheck.notebook import widgets
from rag_claimcheck.notebook.widgets import ModeDemo

ROW = {
    "mode": "codec",
    "status": "completed",
    "history_bytes": 14085,
    "events": 23,
    "store_objects": 3,
    "store_bytes": 871442,
    "error": "",
    "workflow_id": "rag-codec-1",
}


class UnreachableStack:
    """A stack whose server is gone, like one stopped before the click."""

    async def runtime(self, mode: str, *, inline_max_bytes: int | None = None) -> Any:
        raise ConnectionRefusedError(111, "Connect call failed ('127.0.0.1', 7233)")


@pytest.fixture
def slow_ask(monkeypatch: pytest.MonkeyPatch) -> asyncio.Event:
    """``ask`` answers with ROW once the returned event is set."""
    release = asyncio.Event()
    calls: list[str] = []

    async def fake_ask(stack: object, mode: str, document: object, **kwargs: object) -> tuple[None, dict]:
        calls.append(mode)
        await release.wait()
        return None, dict(ROW, mode=mode)

    monkeypatch.setattr(widgets, "ask", fake_ask)
    release.calls = calls  # type: ignore[attr-defined]
    return release


async def test_a_click_shows_its_row_in_the_output_model(slow_ask: asyncio.Event) -> None:
    demo = ModeDemo(UnreachableStack(), document_bytes=1024)  # type: ignore[arg-type]
    task = demo.click()
    slow_ask.set()
    row = await task
    assert row is not None and row["mode"] == "codec"
    (output,) = demo.output.outputs
    html = output["data"]["text/html"]
    assert "codec" in html and "14085" in html and "13.8 KiB" in html


async def test_a_second_click_while_busy_starts_nothing(slow_ask: asyncio.Event) -> None:
    demo = ModeDemo(UnreachableStack(), document_bytes=1024)  # type: ignore[arg-type]
    first = demo.click()
    assert demo.button.disabled and demo.click() is first  # busy from the click on, before the task runs
    await asyncio.sleep(0.05)
    assert demo.button.disabled and "Running" in demo.button.description
    assert "running" in demo.status.value
    assert demo.click() is first
    slow_ask.set()
    await first
    assert slow_ask.calls == ["codec"]  # type: ignore[attr-defined]
    assert not demo.button.disabled and demo.button.description == "Run"
    assert len(demo.results) == 1


async def test_an_error_is_shown_with_its_type_and_message() -> None:
    demo = ModeDemo(UnreachableStack(), document_bytes=1024)  # type: ignore[arg-type]
    result = await demo.click()  # type: ignore[misc]
    assert result is None
    assert "ConnectionRefusedError" in demo.status.value
    assert "Connect call failed" in demo.status.value
    assert not demo.button.disabled
