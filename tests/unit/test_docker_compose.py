"""docker-compose.yml is valid Compose, and every command and variable in it is one the kit really has.

There is no Docker engine or compose plugin in CI, so the file is checked against the Compose
specification's JSON schema (vendored in tests/data, see its README) and by running each kit
service's command line through the kit's own argument parsers. Where Docker is installed,
``docker compose config -q`` is a quick extra check by hand.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import re
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jsonschema
import pytest
import yaml

from rag_claimcheck.claimcheck.settings import ClaimCheckSettings
from rag_claimcheck.codec_server import ENV_VARS as CODEC_SERVER_ENV_VARS
from rag_claimcheck.servers.tools import MissingBinaryError, find_binary
from tests.conftest import missing_server

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
SCHEMA_FILE = ROOT / "tests" / "data" / "compose-spec.json"
KIT_SOURCES = [
    *sorted((ROOT / "rag_claimcheck").rglob("*.py")),
    ROOT / "worker.py",
    ROOT / "start_workflow.py",
]

LIBRARY_ENV_VARS = frozenset(
    {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION", "AWS_REGION"}
)
"""Read by libraries the kit uses (botocore's credential chain), not by the kit's own code."""

COMPOSE: dict[str, Any] = yaml.safe_load(COMPOSE_FILE.read_text())
SERVICES: dict[str, dict[str, Any]] = COMPOSE["services"]
KIT_SERVICES = sorted(name for name, service in SERVICES.items() if "build" in service)


def run(command: list[str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=timeout)


def flags(command: list[str]) -> list[str]:
    return [arg.split("=", 1)[0] for arg in command if arg.startswith("--")]


def mentions(help_text: str, flag: str) -> bool:
    return re.search(rf"(?<![\w-]){re.escape(flag)}(?![\w-])", help_text) is not None


@cache
def kit_env_vars() -> frozenset[str]:
    """Every variable the kit reads: settings fields, the codec server's, and names in its sources."""
    names = {f"CLAIM_CHECK_{f.name.upper()}" for f in dataclasses.fields(ClaimCheckSettings)}
    names |= set(CODEC_SERVER_ENV_VARS)
    for source in KIT_SOURCES:
        names |= set(re.findall(r"""["']([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)["']""", source.read_text()))
    return frozenset(names)


def published(service: dict[str, Any], container_port: int) -> tuple[str, int]:
    """(host address, host port) under which ``container_port`` of ``service`` is published."""
    for mapping in service.get("ports", []):
        parts = str(mapping).split(":")  # [host_ip:]host_port:container_port
        host_ip = parts[0] if len(parts) == 3 else ""
        if int(parts[-1]) == container_port:
            return host_ip, int(parts[-2])
    raise AssertionError(f"port {container_port} is not published")


def option(command: list[str], flag: str) -> str:
    for index, arg in enumerate(command):
        if arg == flag:
            return command[index + 1]
        if arg.startswith(f"{flag}="):
            return arg.split("=", 1)[1]
    raise AssertionError(f"{flag} not in {command}")


# --- the Compose specification --------------------------------------------------------------


@cache
def validator() -> jsonschema.protocols.Validator:
    schema = json.loads(SCHEMA_FILE.read_text())
    # The file declares draft 2019-09 under a non-canonical URI ("http://…/schema#"), which
    # jsonschema does not recognise by itself.
    assert "2019-09" in schema["$schema"]
    jsonschema.Draft201909Validator.check_schema(schema)
    return jsonschema.Draft201909Validator(schema)


def schema_errors(document: Any) -> list[str]:
    return sorted(
        f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}"
        for e in validator().iter_errors(document)
    )


def test_the_compose_file_follows_the_compose_specification() -> None:
    assert schema_errors(COMPOSE) == []


@pytest.mark.parametrize(
    "mistake",
    [
        {"services": {"worker": {"image": "x", "comand": ["python"]}}},
        {"services": {"worker": {"image": "x", "depends_on": {"minio": {"condition": "when_ready"}}}}},
        {"services": {"worker": {"image": "x", "ports": [{"target": "eighty"}]}}},
        {"services": {"bad name!": {"image": "x"}}},
        {"servces": {}},
    ],
)
def test_the_schema_check_catches_the_mistakes_it_is_there_for(mistake: dict[str, Any]) -> None:
    assert schema_errors(mistake) != []


# --- every kit service runs something the kit has ------------------------------------------------


def test_the_kit_services_are_all_there() -> None:
    assert KIT_SERVICES == ["codec-server", "jupyter", "worker"]
    assert (ROOT / SERVICES["worker"]["build"] / "Dockerfile").is_file()


@pytest.mark.parametrize("name", KIT_SERVICES)
def test_each_kit_command_parses_with_the_kits_own_arguments(name: str) -> None:
    command: list[str] = SERVICES[name]["command"]
    if command[0] == "python":
        target = command[2] if command[1] == "-m" else command[1]
        if command[1] == "-m":
            assert importlib.util.find_spec(target) is not None, f"{name}: no module {target}"
            args = command[3:]
        else:
            assert (ROOT / target).is_file(), f"{name}: no file {target}"
            args = command[2:]
        # argparse checks types and choices of every option before it reaches the trailing --help.
        result = run([sys.executable, *command[1 : len(command) - len(args)], *args, "--help"])
        assert result.returncode == 0, f"{name}: {result.stderr}"
        help_text = result.stdout
    elif command[:2] == ["jupyter", "lab"]:
        jupyter = Path(sys.executable).parent / "jupyter"
        assert jupyter.exists(), "jupyterlab is not installed"
        help_text = run([str(jupyter), "lab", "--help-all"]).stdout
        root_dir = option(command, "--ServerApp.root_dir")
        mounts = dict(v.split(":", 1)[::-1] for v in SERVICES[name].get("volumes", []))
        assert root_dir in mounts, f"{name}: {root_dir} is not a mounted volume"
        assert (ROOT / mounts[root_dir]).is_dir(), f"{name}: {mounts[root_dir]} does not exist in the kit"
    else:
        raise AssertionError(f"{name}: the test does not know how to check {command[0]!r}")
    unknown = [flag for flag in flags(command) if not mentions(help_text, flag)]
    assert unknown == [], f"{name}: flags not in --help: {unknown}"


@pytest.mark.parametrize("name", KIT_SERVICES)
def test_each_kit_service_sets_only_variables_the_kit_reads(name: str) -> None:
    unknown = sorted(set(SERVICES[name].get("environment", {})) - kit_env_vars() - LIBRARY_ENV_VARS)
    assert unknown == []


@pytest.mark.parametrize(
    ("name", "subcommand"), [("temporal", ["server", "start-dev"]), ("minio", ["server"])]
)
def test_the_server_images_are_given_flags_their_binaries_have(name: str, subcommand: list[str]) -> None:
    binary = find_binary(name)  # type: ignore[arg-type] # the two names find_binary knows
    if binary is None:
        missing_server(MissingBinaryError(name))  # fails with CI=true, skips elsewhere
    command: list[str] = SERVICES[name]["command"]
    assert command[: len(subcommand)] == subcommand
    result = run([str(binary), *subcommand, "--help"])
    help_text = result.stdout + result.stderr
    unknown = [flag for flag in flags(command) if not mentions(help_text, flag)]
    assert unknown == []


# --- the services are wired to each other ------------------------------------------------------


def test_the_web_ui_calls_the_codec_server_where_the_browser_can_reach_it() -> None:
    temporal, codec = SERVICES["temporal"], SERVICES["codec-server"]
    endpoint = urlsplit(option(temporal["command"], "--ui-codec-endpoint"))
    assert endpoint.hostname == "localhost"
    assert published(codec, int(option(codec["command"], "--port"))) == ("127.0.0.1", endpoint.port)
    assert option(codec["command"], "--host") == "0.0.0.0"

    ui_host_ip, ui_port = published(temporal, int(option(temporal["command"], "--ui-port")))
    origins = codec["environment"]["CLAIM_CHECK_CODEC_CORS_ORIGINS"].split(",")
    assert f"http://localhost:{ui_port}" in origins
    assert "localhost" in codec["environment"]["CLAIM_CHECK_CODEC_ALLOWED_HOSTS"].split(",")
    assert ui_host_ip == "127.0.0.1"


def test_every_port_is_published_on_loopback_only() -> None:
    for name, service in SERVICES.items():
        for mapping in service.get("ports", []):
            assert str(mapping).startswith("127.0.0.1:"), f"{name}: {mapping}"


@pytest.mark.parametrize("name", KIT_SERVICES)
def test_kit_services_use_the_minio_bucket_and_credentials_and_wait_for_the_bucket(name: str) -> None:
    env, minio, init = SERVICES[name]["environment"], SERVICES["minio"], SERVICES["minio-init"]
    assert env["CLAIM_CHECK_STORE"] == "s3"
    assert urlsplit(env["CLAIM_CHECK_S3_ENDPOINT_URL"]).hostname == "minio"
    assert env["AWS_ACCESS_KEY_ID"] == minio["environment"]["MINIO_ROOT_USER"]
    assert env["AWS_SECRET_ACCESS_KEY"] == minio["environment"]["MINIO_ROOT_PASSWORD"]
    assert env["CLAIM_CHECK_S3_BUCKET"] == init["environment"]["BUCKET"]
    assert SERVICES[name]["depends_on"]["minio-init"] == {"condition": "service_completed_successfully"}
    assert env["TEMPORAL_ADDRESS"] == "temporal:7233"


def test_the_worker_runs_in_codec_mode_against_the_compose_temporal() -> None:
    command = SERVICES["worker"]["command"]
    assert option(command, "--address") == "temporal:7233"
    assert option(command, "--claim-check") == "codec"
    assert option(command, "--store") == "s3"
