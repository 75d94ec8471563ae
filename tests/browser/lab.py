"""Drive JupyterLab in Chromium: start a server on a copy of the notebooks, run a notebook, inspect it."""

from __future__ import annotations

import asyncio
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from playwright.async_api import Page

from rag_claimcheck.servers.ports import free_port

REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "tests" / "browser" / "screenshots"
"""Git-ignored; every run overwrites what it takes."""
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
LAB_START_TIMEOUT_SECONDS = 90
RUN_ALL_TIMEOUT_SECONDS = 600

STDERR_MIME = "application/vnd.jupyter.stderr"
WIDGET_REPRS = ("VBox(children=", "HBox(children=", "Output()", "FloatProgress(", "IntProgress(")
"""What a notebook shows instead of a widget when the front end cannot render it."""

# JupyterLab settings for a test: every cell in the DOM (no windowing), no news or update toasts.
LAB_SETTINGS = {
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
}


@dataclass
class JupyterLab:
    """A JupyterLab server on a loopback port serving ``root`` (a copy of the notebooks)."""

    url: str
    token: str
    root: Path
    process: subprocess.Popen[bytes]
    log_path: Path

    @classmethod
    def start(cls, workdir: Path) -> JupyterLab:
        root = workdir / "notebooks"
        shutil.copytree(REPO / "notebooks", root)
        for name, settings in LAB_SETTINGS.items():
            path = workdir / "settings" / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(settings))
        port, token = free_port(), secrets.token_hex(16)
        env = {
            **os.environ,
            "JUPYTERLAB_SETTINGS_DIR": str(workdir / "settings"),
            "JUPYTERLAB_WORKSPACES_DIR": str(workdir / "workspaces"),
            "JUPYTER_CONFIG_DIR": str(workdir / "config"),
            "JUPYTER_RUNTIME_DIR": str(workdir / "runtime"),
        }
        log_path = workdir / "jupyterlab.log"
        command = [
            sys.executable,
            "-m",
            "jupyterlab",
            "--no-browser",
            "--ip",
            "127.0.0.1",
            "--port",
            str(port),
            f"--IdentityProvider.token={token}",
            f"--ServerApp.root_dir={root}",
            "--allow-root",
        ]
        with open(log_path, "wb") as log:
            process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=root)
        lab = cls(f"http://127.0.0.1:{port}", token, root, process, log_path)
        deadline = time.monotonic() + LAB_START_TIMEOUT_SECONDS
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"JupyterLab exited: {log_path.read_text(errors='replace')[-2000:]}")
            try:
                lab.api("GET", "/api/status")
                return lab
            except OSError:
                if time.monotonic() > deadline:
                    lab.stop()
                    raise TimeoutError(
                        f"JupyterLab did not answer within {LAB_START_TIMEOUT_SECONDS} s"
                    ) from None
                time.sleep(0.5)

    def api(self, method: str, path: str) -> object:
        """A REST call with the token; the decoded JSON (or ``None``)."""
        request = urllib.request.Request(
            f"{self.url}{path}", method=method, headers={"Authorization": f"token {self.token}"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            body = response.read()
        return json.loads(body) if body else None

    def notebook_url(self, name: str) -> str:
        """The page of one notebook, in a fresh workspace (nothing else open)."""
        return f"{self.url}/lab/tree/{name}?reset&token={self.token}"

    def kernel_of(self, name: str) -> str | None:
        """The id of the kernel the notebook ``name`` runs on."""
        for session in self.api("GET", "/api/sessions") or []:  # type: ignore[union-attr]
            if session["path"].endswith(name):
                return str(session["kernel"]["id"])
        return None

    def shutdown_kernel(self, name: str) -> None:
        """Shut the notebook's kernel down (its stack goes with it)."""
        kernel = self.kernel_of(name)
        if kernel is not None:
            self.api("DELETE", f"/api/kernels/{kernel}")

    def stop(self) -> None:
        """Stop the server (it shuts its kernels down first)."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@dataclass
class NotebookRun:
    """What a Run All left on the page."""

    name: str
    seconds: float
    code_cells: int
    errors: list[str] = field(default_factory=list)
    widget_problems: list[str] = field(default_factory=list)
    images: int = 0
    broken_images: int = 0
    widgets: int = 0


async def open_notebook(page: Page, lab: JupyterLab, name: str) -> None:
    """Open ``name`` and wait until its kernel is ready."""
    await page.goto(lab.notebook_url(name))
    await page.locator(".jp-Notebook .jp-Cell").first.wait_for(timeout=60_000)
    await kernel_idle(page)


async def kernel_idle(page: Page, timeout: float = 120_000) -> None:
    """Wait until the status bar says the kernel is idle (not "No Kernel", "Initializing", "Busy")."""
    await page.locator(".jp-StatusBar-TextItem", has_text=re.compile(r"\| Idle$")).first.wait_for(
        timeout=timeout
    )


async def run_all(page: Page, name: str, *, timeout: float = RUN_ALL_TIMEOUT_SECONDS) -> NotebookRun:
    """Run > Run All Cells, as a person would, and wait until every code cell has run."""
    await page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
    await page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()
    prompts = page.locator(".jp-CodeCell .jp-InputArea-prompt")
    started = time.monotonic()
    while True:
        texts = [t.strip() for t in await prompts.all_inner_texts()]
        errors = await page.locator(
            ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']"
        ).count()
        if texts and all(t[1:-2].isdigit() for t in texts):  # "[12]:" for every cell
            break
        if errors:  # a failed cell stops Run All; the rest stay "[ ]:"
            await kernel_idle(page)
            break
        if time.monotonic() - started > timeout:
            raise TimeoutError(f"{name}: Run All did not finish within {timeout} s; prompts {texts}")
        await asyncio.sleep(0.5)
    seconds = time.monotonic() - started
    await page.wait_for_timeout(1000)  # let late widget views and images finish rendering
    return await inspect(page, name, seconds=seconds, code_cells=len(texts))


async def inspect(page: Page, name: str, *, seconds: float, code_cells: int) -> NotebookRun:
    """Errors, widget problems and images on the page."""
    run = NotebookRun(name, seconds, code_cells)
    for output in await page.locator(f".jp-OutputArea-output[data-mime-type='{STDERR_MIME}']").all():
        run.errors.append((await output.inner_text())[:2000])
    outputs_text = "\n".join(await page.locator(".jp-OutputArea-output").all_inner_texts())
    if "Error displaying widget" in outputs_text:
        run.widget_problems.append("Error displaying widget")
    run.widget_problems += [r for r in WIDGET_REPRS if r in outputs_text]
    if "IProgress not found" in outputs_text:
        run.widget_problems.append("IProgress not found (progress bar fell back to text)")
    # A rendered widget view puts its element (class jupyter-widgets) into the output area.
    run.widgets = (
        await page.locator(".jp-OutputArea-output").filter(has=page.locator(".jupyter-widgets")).count()
    )
    if "Loading widget..." in outputs_text:
        run.widget_problems.append("a widget still 'Loading widget...'")
    images = page.locator(".jp-RenderedImage img")
    run.images = await images.count()
    for image in await images.all():
        if not await image.evaluate("img => img.complete && img.naturalWidth > 0 && img.naturalHeight > 0"):
            run.broken_images += 1
    return run


async def screenshot_outputs(page: Page, name: str) -> list[Path]:
    """One screenshot per output area (figures, tables, widgets) and one of the page as it ends."""
    folder = SCREENSHOTS / Path(name).stem
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    taken = []
    outputs = page.locator(".jp-Cell-outputArea")
    for index, output in enumerate(await outputs.all()):
        if not (await output.inner_text()).strip() and await output.locator("img").count() == 0:
            continue
        path = folder / f"output-{index:02d}.png"
        await output.screenshot(path=str(path))
        taken.append(path)
    path = folder / "page.png"
    await page.screenshot(path=str(path))
    taken.append(path)
    return taken
