"""Finding the server binaries (``temporal``, ``temporal-devserver``, ``minio``): PATH first, then the kit's tools folder."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
TOOLS_BIN = Path(os.environ.get("RAG_CLAIMCHECK_TOOLS_BIN", PROJECT_ROOT / ".tools" / "bin"))

DOWNLOAD_DIR = TOOLS_BIN.parent / "sdk-download"
"""Where the Temporal SDK may download the CLI when there is no binary and there is internet."""

_ENV_OVERRIDES = {
    "temporal": "TEMPORAL_CLI_PATH",
    "temporal-devserver": "TEMPORAL_DEVSERVER_PATH",
    "minio": "MINIO_PATH",
}

_HOW_TO_GET = {
    "temporal": (
        "Build it with `make tools` (needs Go >= 1.25: it runs "
        "`CGO_ENABLED=0 go install -ldflags '-X github.com/temporalio/cli/temporalcli.Version=1.5.1' "
        "github.com/temporalio/cli/cmd/temporal@v1.5.1`, the -ldflags so that it reports its version), "
        "or install the Temporal CLI with Homebrew (`brew install temporal`) or its install script "
        "(`curl -sSf https://temporal.download/cli.sh | sh`), or run `docker compose up temporal`, "
        "or point TEMPORAL_CLI_PATH at a binary."
    ),
    "temporal-devserver": (
        "It is the kit's own dev server built from go.temporal.io/server v1.32 (tools/devserver), for the "
        "external-payload figures in describe() that the server inside Temporal CLI 1.5 lacks. Build it "
        "with `make tools` (needs Go >= 1.26.8; it runs scripts/ensure-devserver.sh, which builds "
        "tools/devserver into .tools/bin), or point TEMPORAL_DEVSERVER_PATH at a binary."
    ),
    "minio": (
        "Build it with `make tools` (needs Go), or install MinIO from its release page, "
        "or run `docker compose up minio`, or point MINIO_PATH at a binary."
    ),
}


class MissingBinaryError(FileNotFoundError):
    """A server binary the kit needs is neither configured, on PATH, nor in the tools folder."""

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(f"`{name}` was not found on PATH or in {TOOLS_BIN}. {_HOW_TO_GET[name]}")


def find_binary(name: str) -> Path | None:
    """The path of a server binary: the override variable, then PATH, then the tools folder."""
    override = os.environ.get(_ENV_OVERRIDES[name])
    if override:
        return Path(override) if Path(override).is_file() else None
    on_path = shutil.which(name)
    if on_path:
        return Path(on_path)
    local = TOOLS_BIN / name
    if local.is_file() and os.access(local, os.X_OK):
        return local
    return find_downloaded_cli() if name == "temporal" else None


def find_downloaded_cli() -> Path | None:
    """A Temporal CLI the SDK downloaded into :data:`DOWNLOAD_DIR` earlier, if any."""
    if not DOWNLOAD_DIR.is_dir():
        return None
    found = [p for p in DOWNLOAD_DIR.rglob("*") if p.is_file() and os.access(p, os.X_OK)]
    return sorted(found)[-1] if found else None


def require_binary(name: str) -> Path:
    """Like :func:`find_binary`, but raise :class:`MissingBinaryError` with install hints."""
    path = find_binary(name)
    if path is None:
        raise MissingBinaryError(name)
    return path
