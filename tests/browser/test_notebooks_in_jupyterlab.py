"""Each notebook, run as a person runs it: JupyterLab in Chromium, Run > Run All Cells, then look.

nbval runs the cells but never renders a widget, never clicks and never draws an image; this
suite does. Screenshots of every output go to ``tests/browser/screenshots/<notebook>/``.
"""

from __future__ import annotations

import re

import pytest
from playwright.async_api import BrowserContext, Page, expect

from tests.browser.lab import JupyterLab, NotebookRun, open_notebook, run_all, screenshot_outputs

CLICK_TIMEOUT_MS = 60_000
pytestmark = pytest.mark.timeout(900)  # Run All of one notebook, on a shared, busy machine

# name -> (figures the notebook draws, widgets it displays, at least)
NOTEBOOKS = {
    "01_quickstart.ipynb": (0, 0),
    "02_event_history_sizes.ipynb": (2, 1),
    "03_failures_with_and_without_claim_check.ipynb": (1, 0),
    "04_conversations_dedup_and_cleanup.ipynb": (3, 0),
}


def assert_rendered(run: NotebookRun, figures: int, widgets: int) -> None:
    """No error output, every widget rendered, every figure rendered."""
    assert run.errors == [], f"{run.name}: error output:\n" + "\n---\n".join(run.errors)
    assert run.widget_problems == [], f"{run.name}: widgets not rendered: {run.widget_problems}"
    assert run.widgets >= widgets, f"{run.name}: {run.widgets} widget views, expected at least {widgets}"
    assert run.images == figures, f"{run.name}: {run.images} figures, expected {figures}"
    assert run.broken_images == 0, f"{run.name}: {run.broken_images} figures did not render"


async def run_notebook(
    context: BrowserContext, lab: JupyterLab, name: str, timings: dict[str, float]
) -> tuple[Page, NotebookRun]:
    page = await context.new_page()
    await open_notebook(page, lab, name)
    run = await run_all(page, name)
    timings[name] = run.seconds
    await screenshot_outputs(page, name)
    return page, run


@pytest.mark.parametrize("name", [n for n in NOTEBOOKS if not n.startswith("02")])
async def test_notebook_runs_all_in_jupyterlab(
    context: BrowserContext, lab: JupyterLab, timings: dict[str, float], name: str
) -> None:
    try:
        _, run = await run_notebook(context, lab, name, timings)
        assert_rendered(run, *NOTEBOOKS[name])
    finally:
        lab.shutdown_kernel(name)


async def test_02_runs_all_and_its_widget_works_when_clicked(
    context: BrowserContext, lab: JupyterLab, timings: dict[str, float]
) -> None:
    name = "02_event_history_sizes.ipynb"
    try:
        page, run = await run_notebook(context, lab, name, timings)
        assert_rendered(run, *NOTEBOOKS[name])

        control = page.locator(".jp-OutputArea-output", has=page.locator(".widget-toggle-buttons")).first
        await control.scroll_into_view_if_needed()
        rows = control.locator("table tbody tr")
        before = await rows.count()

        await control.locator(".widget-toggle-button", has_text="extstore").click()
        slider = control.locator(".widget-slider .noUi-handle, .widget-slider [role=slider]").first
        readout = control.locator(".widget-readout").first
        for _ in range(5):  # to the lowest threshold, a key press at a time
            if (await readout.inner_text()).strip() == "16 KiB":
                break
            await slider.focus()
            await slider.press("ArrowLeft")
        await expect(readout).to_have_text("16 KiB")

        # The busy state can be over before a locator looks (a fast run), so the page records it: a
        # MutationObserver notes whether a disabled "Running…" button ever appeared in this output.
        await control.evaluate(_RECORD_BUSY_BUTTON)
        run_button = control.locator("button", has_text="Run").first
        await run_button.click()
        await run_button.click(force=True, timeout=2_000)  # a second click while busy starts nothing
        await page.screenshot(path=str(_shot(name, "widget-busy.png")))

        new_row = control.locator("table tbody tr", has_text="extstore").filter(has_text="16.0 KiB")
        await expect(new_row).to_have_count(1, timeout=CLICK_TIMEOUT_MS)
        await expect(rows).to_have_count(before + 1)
        await expect(new_row).to_contain_text("completed")
        assert await page.evaluate("window.__busyButtonSeen") is True, (
            "the Run button was never disabled as Running…"
        )
        await expect(control.locator("button", has_text=re.compile(r"^\s*Run\s*$"))).to_be_enabled()
        await control.screenshot(path=str(_shot(name, "widget-after-click.png")))
    finally:
        lab.shutdown_kernel(name)


_RECORD_BUSY_BUTTON = """output => {
    window.__busyButtonSeen = false;
    const look = () => {
        for (const button of output.querySelectorAll("button")) {
            if (/Running/.test(button.textContent) && button.disabled) window.__busyButtonSeen = true;
        }
    };
    look();
    new MutationObserver(look).observe(output, {subtree: true, childList: true, attributes: true, characterData: true});
}"""


def _shot(notebook: str, file: str):
    from tests.browser.lab import SCREENSHOTS

    return SCREENSHOTS / notebook.removesuffix(".ipynb") / file
