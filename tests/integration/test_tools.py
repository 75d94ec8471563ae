"""The Temporal CLI the kit builds says which version it is, and `make tools` rebuilds one that does not."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from rag_claimcheck.servers.tools import TOOLS_BIN, MissingBinaryError, find_binary
from tests.conftest import missing_server

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
ENSURE_TOOL = ROOT / "scripts" / "ensure-tool.sh"
VERSION_VAR = "github.com/temporalio/cli/temporalcli.Version"


def makefile_value(name: str) -> str:
    found = re.search(rf"^{name} := (\S+)$", (ROOT / "Makefile").read_text(), re.MULTILINE)
    assert found, f"{name} is not set in the Makefile"
    return found.group(1)


CLI_VERSION = makefile_value("TEMPORAL_CLI_VERSION").removeprefix("v")


def test_the_makefile_stamps_the_version_variable_of_the_cli_source() -> None:
    assert makefile_value("TEMPORAL_CLI_VERSION_VAR") == VERSION_VAR


def test_the_temporal_cli_in_use_reports_its_real_version() -> None:
    binary = find_binary("temporal")
    if binary is None:
        missing_server(MissingBinaryError("temporal"))
    assert binary is not None
    reported = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=60).stdout
    assert "0.0.0-DEV" not in reported, f"{binary} was built without -ldflags: {reported!r}"
    if binary.parent == TOOLS_BIN:  # the kit built it: exactly the pinned version
        assert reported.startswith(f"temporal version {CLI_VERSION} ("), reported


def fake_cli(folder: Path, reported: str) -> Path:
    """A stand-in ``temporal`` that only answers ``--version``."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "temporal"
    path.write_text(f"#!/bin/sh\necho '{reported}'\n")
    path.chmod(0o755)
    return folder


def ensure_tool(bin_dir: Path) -> subprocess.CompletedProcess[str]:
    # PATH without Go and without a temporal: only the binary in bin_dir can satisfy the script.
    env = {**os.environ, "PATH": "/usr/bin:/bin"}
    module = f"github.com/temporalio/cli/cmd/temporal@v{CLI_VERSION}"
    return subprocess.run(
        ["bash", str(ENSURE_TOOL), "temporal", module, str(bin_dir), VERSION_VAR],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


def test_a_cached_build_with_the_version_is_reused(tmp_path: Path) -> None:
    bin_dir = fake_cli(tmp_path, f"temporal version {CLI_VERSION} (Server 1.29.1, UI 2.42.1)")
    result = ensure_tool(bin_dir)
    assert result.returncode == 0, result.stderr
    assert (
        result.stdout
        == f"tools: using {bin_dir}/temporal (temporal version {CLI_VERSION} (Server 1.29.1, UI 2.42.1))\n"
    )


def test_a_cached_build_saying_0_0_0_dev_is_rebuilt(tmp_path: Path) -> None:
    bin_dir = fake_cli(tmp_path, "temporal version 0.0.0-DEV (Server 1.29.1, UI 2.42.1)")
    result = ensure_tool(bin_dir)
    assert result.stdout.startswith(
        f"tools: {bin_dir}/temporal reports 'temporal version 0.0.0-DEV (Server 1.29.1, UI 2.42.1)', "
        f"not {CLI_VERSION}: rebuilding it\n"
    )
    # no Go on this PATH, so the rebuild stops with the install hints
    assert result.returncode == 1 and "Go is not installed" in result.stderr


ENSURE_DEVSERVER = ROOT / "scripts" / "ensure-devserver.sh"


def test_the_kits_devserver_is_server_1_32_with_its_web_ui() -> None:
    go_mod = (ROOT / "tools" / "devserver" / "go.mod").read_text()
    assert "go.temporal.io/server v1.32.0" in go_mod
    binary = find_binary("temporal-devserver")
    if binary is None:
        missing_server(MissingBinaryError("temporal-devserver"))
    assert binary is not None
    reported = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=60)
    assert reported.stdout == "temporal-devserver (Server 1.32.0, UI 2.54.1)\n", reported


@pytest.mark.parametrize(
    ("value", "why"),
    [("big", "the value is not JSON: invalid character"), ("10abc", 'the value is not JSON: "abc" after it')],
)
def test_the_devserver_refuses_a_dynamic_config_value_that_is_not_json(value: str, why: str) -> None:
    binary = find_binary("temporal-devserver")
    if binary is None:
        missing_server(MissingBinaryError("temporal-devserver"))
    assert binary is not None
    pair = f"limit.blobSize.error={value}"
    result = subprocess.run(
        [binary, "server", "start-dev", "--headless", "--dynamic-config-value", pair],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert result.stderr.startswith(f'temporal-devserver: --dynamic-config-value "{pair}": {why}'), (
        result.stderr
    )


def fake_devserver(folder: Path, *, modified: float) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "temporal-devserver"
    path.write_text("#!/bin/sh\necho 'temporal-devserver (Server 1.32.0, UI 2.54.1)'\n")
    path.chmod(0o755)
    os.utime(path, (modified, modified))
    return folder


def ensure_devserver(
    bin_dir: Path, *, ci: bool = True, path: str = "/usr/bin:/bin"
) -> subprocess.CompletedProcess[str]:
    # By default a PATH without Go and without a temporal-devserver: only bin_dir can satisfy the script.
    env = {**os.environ, "PATH": path, "CI": "true" if ci else ""}
    return subprocess.run(
        ["bash", str(ENSURE_DEVSERVER), str(bin_dir)], capture_output=True, text=True, env=env, timeout=60
    )


def test_a_devserver_newer_than_its_sources_is_reused(tmp_path: Path) -> None:
    newest_source = max(p.stat().st_mtime for p in (ROOT / "tools" / "devserver").iterdir())
    bin_dir = fake_devserver(tmp_path, modified=newest_source + 60)
    result = ensure_devserver(bin_dir)
    assert result.returncode == 0, result.stderr
    assert result.stdout == (
        f"tools: using {bin_dir}/temporal-devserver (temporal-devserver (Server 1.32.0, UI 2.54.1))\n"
    )


def test_a_devserver_older_than_its_sources_is_rebuilt_and_without_go_ci_fails(tmp_path: Path) -> None:
    bin_dir = fake_devserver(tmp_path, modified=0)
    result = ensure_devserver(bin_dir)
    # no Go on this PATH, so the rebuild stops with the install hint
    assert result.returncode == 1
    assert (
        "'temporal-devserver' is missing or older than tools/devserver, and Go is not installed"
        in result.stderr
    )


def test_without_go_outside_ci_the_devserver_is_only_a_warning(tmp_path: Path) -> None:
    result = ensure_devserver(tmp_path / "empty", ci=False)
    assert result.returncode == 0, result.stderr
    assert "Everything but the server-1.32 extras" in result.stderr


def test_a_devserver_on_path_with_another_server_version_is_not_used(tmp_path: Path) -> None:
    on_path = tmp_path / "on-path"
    on_path.mkdir()
    impostor = on_path / "temporal-devserver"
    impostor.write_text("#!/bin/sh\necho 'temporal-devserver (Server 1.31.0, UI 2.50.0)'\n")
    impostor.chmod(0o755)
    result = ensure_devserver(tmp_path / "bin", path=f"{on_path}:/usr/bin:/bin")
    assert result.stderr.startswith(
        f"tools: {impostor} reports 'temporal-devserver (Server 1.31.0, UI 2.50.0)', not Server 1.32.0"
        ": remove it from PATH (the kit would use it)"
    ), result.stderr
    assert result.returncode == 1
