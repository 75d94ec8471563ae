"""The Temporal Web UI, decoding through the kit's codec server, shows a claim-checked workflow's real input."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from playwright.async_api import BrowserContext, expect

from rag_claimcheck.claimcheck.reference import NOTE
from rag_claimcheck.claimcheck.settings import ClaimCheckSettings
from rag_claimcheck.data.samples import SAMPLE_DOCUMENT
from rag_claimcheck.notebook.experiments import ask, document_of
from rag_claimcheck.rag.ingest import load_document
from rag_claimcheck.servers.temporal import CLI, SERVER_1_32
from rag_claimcheck.servers.tools import MissingBinaryError
from rag_claimcheck.stack.embedded import EmbeddedStack
from tests.browser.lab import SCREENSHOTS
from tests.conftest import missing_server

pytestmark = pytest.mark.timeout(300)

UI_TIMEOUT_MS = 60_000
SENTENCE = "This document is maintained by the Platform Reliability Group and reviewed every quarter."
"""A sentence of the bundled handbook (its first paragraph)."""


@pytest_asyncio.fixture(loop_scope="session")
async def stack(tmp_path: Path) -> AsyncIterator[EmbeddedStack]:
    """The embedded stack with its Web UI and codec server, over a throwaway file store."""
    async for stack in embedded_stack(tmp_path):
        yield stack


@pytest_asyncio.fixture(loop_scope="session")
async def stack_1_32(tmp_path: Path) -> AsyncIterator[EmbeddedStack]:
    """The same on the kit's build of server 1.32, whose Web UI (2.54) shows external payloads."""
    async for stack in embedded_stack(tmp_path, server_binary=SERVER_1_32):
        yield stack


async def embedded_stack(tmp_path: Path, server_binary: str = CLI) -> AsyncIterator[EmbeddedStack]:
    try:
        stack = await EmbeddedStack.start(
            settings=ClaimCheckSettings.from_env(store="file", file_root=str(tmp_path / "blobs")),
            ui=True,
            server_binary=server_binary,
        )
    except MissingBinaryError as e:
        missing_server(e)
    yield stack
    await stack.stop()


def value_under(label: str, lines: list[str]) -> str:
    """The text the Web UI shows after ``label`` in the workflow's summary."""
    assert label in lines, f"the page has no {label!r}: {lines[:40]}"
    return lines[lines.index(label) + 1]


async def test_web_ui_input_shows_the_documents_text(stack: EmbeddedStack, context: BrowserContext) -> None:
    document = load_document(SAMPLE_DOCUMENT)
    assert SENTENCE in document.text
    report, row = await ask(stack, "codec", document)
    assert report.status == "completed" and row["store_objects"] >= 1, "the input must be claim-checked"

    page = await context.new_page()
    url = stack.server.workflow_url(report.workflow_id)
    assert url is not None
    await page.goto(url)
    input_block = page.locator("[data-testid='input-and-result'] .cm-content").first  # Input, then Result
    await expect(input_block).to_contain_text(SENTENCE, timeout=UI_TIMEOUT_MS)
    await expect(input_block).not_to_contain_text("content_base64")
    await expect(input_block).not_to_contain_text("claim-check-reference")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / "web-ui-input.png"), full_page=True)


async def test_web_ui_summary_of_a_large_input_previews_its_text_and_links_the_full_content(
    stack: EmbeddedStack, context: BrowserContext
) -> None:
    document = document_of(1024 * 1024)  # over the codec server's 256 KiB display limit
    report, _ = await ask(stack, "codec", document)
    assert report.status == "completed"

    page = await context.new_page()
    url = stack.server.workflow_url(report.workflow_id)
    assert url is not None
    await page.goto(url)
    input_block = page.locator("[data-testid='input-and-result'] .cm-content").first
    await expect(input_block).to_contain_text("Lanternfish Operations Handbook", timeout=UI_TIMEOUT_MS)
    await expect(input_block).to_contain_text("more characters: open the link")
    await expect(input_block).not_to_contain_text("content_base64")
    text = await input_block.inner_text()
    link = text.split('"open": "', 1)[1].split('"', 1)[0]
    assert link.startswith(f"{stack.codec_server.url}/blob?") if stack.codec_server else False
    await page.screenshot(path=str(SCREENSHOTS / "web-ui-summary.png"), full_page=True)

    blob = await context.request.get(link)
    assert blob.status == 200
    assert document.text[:200] in (await blob.json())["text"]


async def test_without_the_codec_server_the_web_ui_shows_a_self_describing_reference(
    stack: EmbeddedStack, context: BrowserContext
) -> None:
    report, _ = await ask(stack, "codec", load_document(SAMPLE_DOCUMENT))
    assert report.status == "completed" and stack.codec_server is not None
    await stack.codec_server.stop()

    page = await context.new_page()
    url = stack.server.workflow_url(report.workflow_id)
    assert url is not None
    await page.goto(url)
    input_block = page.locator("[data-testid='input-and-result'] .cm-content").first
    await expect(input_block).to_contain_text(NOTE, timeout=UI_TIMEOUT_MS)
    await expect(input_block).not_to_contain_text(SENTENCE)
    await page.screenshot(path=str(SCREENSHOTS / "web-ui-no-codec-server.png"), full_page=True)


async def test_web_ui_shows_what_the_codec_kept_out_of_history(
    stack_1_32: EmbeddedStack, context: BrowserContext
) -> None:
    report, _ = await ask(stack_1_32, "codec", document_of(1024 * 1024))
    assert report.status == "completed"
    size, count = report.external_payload_size_bytes, report.external_payload_count
    assert size is not None and size >= 1024 * 1024 and count == report.kept_out_payloads

    page = await context.new_page()
    url = stack_1_32.server.workflow_url(report.workflow_id)
    assert url is not None
    await page.goto(url)
    await expect(page.get_by_text("External Payloads Size")).to_be_visible(timeout=UI_TIMEOUT_MS)
    lines = [line.strip() for line in (await page.inner_text("body")).splitlines() if line.strip()]
    # The UI prints binary megabytes as "MB" with two decimals (3,220,792 bytes: "3.07 MB").
    assert value_under("External Payloads Size", lines) == f"{size / 1024 / 1024:.2f} MB"
    assert value_under("External Payloads", lines) == str(count)
    assert value_under("History Size", lines).endswith(" KB")  # the references stayed small
    await page.screenshot(path=str(SCREENSHOTS / "web-ui-external-payloads.png"), full_page=True)
