"""Connecting the Temporal CLI's way, on the real dev server: profiles, flags over profiles, TLS via a proxy.

docs/production.md ("Taking it to production") is followed literally where it can be: the profile
file below is its example with local addresses, and TLS goes through a TLS-terminating proxy with a
certificate made by the test.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path

import pytest
import pytest_asyncio
from temporalio.api.workflowservice.v1 import RegisterNamespaceRequest
from temporalio.client import Client

from rag_claimcheck.claimcheck.settings import ClaimCheckSettings
from rag_claimcheck.notebook import session
from rag_claimcheck.servers.temporal import DevServer
from rag_claimcheck.stack.connect import ConnectError
from tests.integration.tls_proxy import SERVER_NAME, Pki, TlsProxy, make_pki

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
STEP_TIMEOUT = 90.0


def clean_env(**more: str) -> dict[str, str]:
    """The test's environment without the developer's own TEMPORAL_* settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TEMPORAL_") or k == "TEMPORAL_CLI_PATH"}
    return {**env, "PYTHONUNBUFFERED": "1", **more}


def run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=STEP_TIMEOUT, env=env
    )


async def ask(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """``start_workflow.py --json`` in a thread, so this test's event loop (and its proxy) keeps running."""
    return await asyncio.to_thread(run, "start_workflow.py", "--json", *args, env=env)


async def ask_plain(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """``start_workflow.py`` without ``--json``: failures are one line on stderr."""
    return await asyncio.to_thread(run, "start_workflow.py", *args, env=env)


@asynccontextmanager
async def worker_process(*args: str, env: dict[str, str]) -> AsyncIterator[str]:
    """``worker.py`` with ``args``; yields its banner line once it is polling."""
    worker = await asyncio.create_subprocess_exec(
        sys.executable,
        "worker.py",
        *args,
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    assert worker.stderr is not None
    drain: asyncio.Task[bytes] | None = None
    try:
        banner = (await asyncio.wait_for(worker.stderr.readline(), STEP_TIMEOUT)).decode()
        assert banner.startswith("worker on "), banner + (await worker.stderr.read()).decode()[-2000:]
        drain = asyncio.create_task(worker.stderr.read())  # a full pipe must never block it
        yield banner
    finally:
        if worker.returncode is None:
            worker.terminate()
        await worker.wait()
        if drain is not None:
            drain.cancel()


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def second_namespace(dev_server: DevServer) -> str:
    """A namespace besides ``default``, so a profile visibly selects it."""
    name = f"profile-test-{uuid.uuid4().hex[:6]}"
    client = await Client.connect(dev_server.address)
    await client.workflow_service.register_namespace(
        RegisterNamespaceRequest(namespace=name, workflow_execution_retention_period=timedelta(days=1))
    )
    for _ in range(100):  # registration is asynchronous on the server
        try:
            await (await Client.connect(dev_server.address, namespace=name)).count_workflows()
            return name
        except Exception:
            await asyncio.sleep(0.1)
    raise AssertionError(f"namespace {name} never became usable")


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest_asyncio.fixture(loop_scope="session")
async def tls_proxy(dev_server: DevServer, pki: Pki) -> AsyncIterator[TlsProxy]:
    proxy = await TlsProxy.start(upstream=dev_server.address, pki=pki)
    yield proxy
    await proxy.stop()


def write_profiles(path: Path, **profiles: dict[str, object]) -> Path:
    """A ``temporal.toml`` with ``[profile.NAME]`` tables (one nested level for ``tls``)."""
    lines: list[str] = []
    for name, values in profiles.items():
        lines.append(f"[profile.{name}]")
        nested = {k: v for k, v in values.items() if isinstance(v, dict)}
        lines += [f"{k} = {json.dumps(v)}" for k, v in values.items() if not isinstance(v, dict)]
        for table, inner in nested.items():
            lines.append(f"[profile.{name}.{table}]")
            lines += [f"{k} = {json.dumps(v)}" for k, v in inner.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


async def workflow_in(address: str, namespace: str, workflow_id: str) -> str:
    """The status name of ``workflow_id`` as ``namespace`` on ``address`` sees it."""
    client = await Client.connect(address, namespace=namespace)
    description = await client.get_workflow_handle(workflow_id).describe()
    assert description.status is not None
    return description.status.name


class TestProfiles:
    async def test_a_profile_selects_address_and_namespace_for_both_commands(
        self, dev_server: DevServer, second_namespace: str, tmp_path: Path
    ) -> None:
        toml = write_profiles(
            tmp_path / "temporal.toml",
            default={"address": "127.0.0.1:1", "namespace": "not-this-one"},
            staging={"address": dev_server.address, "namespace": second_namespace},
        )
        env = clean_env(TEMPORAL_CONFIG_FILE=str(toml), CLAIM_CHECK_FILE_ROOT=str(tmp_path / "blobs"))
        queue = f"tq-{uuid.uuid4().hex[:6]}"
        async with worker_process("--profile", "staging", "--task-queue", queue, env=env) as banner:
            assert f"worker on {dev_server.address}, namespace '{second_namespace}'" in banner
            result = await ask("--task-queue", queue, env={**env, "TEMPORAL_PROFILE": "staging"})
        assert result.returncode == 0, result.stderr[-2000:]
        report = json.loads(result.stdout)
        assert (report["status"], report["claim_check"]) == ("completed", "codec")
        assert await workflow_in(dev_server.address, second_namespace, report["workflow_id"]) == "COMPLETED"
        assert list((tmp_path / "blobs").rglob("sha256/*")), "the claim-checked payloads are in the store"

    async def test_flags_and_variables_override_the_profile(
        self, dev_server: DevServer, second_namespace: str, tmp_path: Path
    ) -> None:
        toml = write_profiles(
            tmp_path / "temporal.toml", default={"address": "127.0.0.1:1", "namespace": "not-this-one"}
        )
        env = clean_env(TEMPORAL_CONFIG_FILE=str(toml), CLAIM_CHECK_FILE_ROOT=str(tmp_path / "blobs"))
        queue = f"tq-{uuid.uuid4().hex[:6]}"
        flags = ("--address", dev_server.address, "--namespace", second_namespace, "--task-queue", queue)
        async with worker_process(*flags, env=env) as banner:
            assert f"worker on {dev_server.address}, namespace '{second_namespace}'" in banner
            by_variable = {
                **env,
                "TEMPORAL_ADDRESS": dev_server.address,
                "TEMPORAL_NAMESPACE": second_namespace,
            }
            result = await ask("--task-queue", queue, env=by_variable)
        assert result.returncode == 0, result.stderr[-2000:]
        report = json.loads(result.stdout)
        assert await workflow_in(dev_server.address, second_namespace, report["workflow_id"]) == "COMPLETED"

    async def test_an_unknown_namespace_is_one_line(self, dev_server: DevServer, tmp_path: Path) -> None:
        env = clean_env(TEMPORAL_CONFIG_FILE=str(tmp_path / "none.toml"))
        result = await ask_plain("--address", dev_server.address, "--namespace", "no-such-namespace", env=env)
        assert result.returncode == 1
        assert result.stderr == (
            f"start_workflow.py: NamespaceNotFound: Temporal at {dev_server.address} has no namespace "
            "'no-such-namespace' (namespace from --namespace): Namespace no-such-namespace is not found.\n"
        )

    async def test_the_notebook_session_connects_through_a_profile(
        self, dev_server: DevServer, second_namespace: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        toml = write_profiles(
            tmp_path / "temporal.toml", lab={"address": dev_server.address, "namespace": second_namespace}
        )
        monkeypatch.setenv("TEMPORAL_CONFIG_FILE", str(toml))
        settings = ClaimCheckSettings.from_env(store="file", file_root=str(tmp_path / "blobs"))
        client = await session.connect(profile="lab", settings=settings)
        assert client.namespace == second_namespace
        assert [p.name() for p in client.config()["plugins"]] == ["rag-claimcheck.ClaimCheckPlugin"]
        with pytest.raises(ConnectError, match="profile 'nope'"):
            await session.connect(profile="nope", settings=settings)


class TestTls:
    async def test_a_claim_checked_workflow_through_a_tls_proxy(
        self, dev_server: DevServer, tls_proxy: TlsProxy, pki: Pki, tmp_path: Path
    ) -> None:
        # the worker by flags, the starter by a profile with a [tls] table: both as in docs/production.md
        toml = write_profiles(
            tmp_path / "temporal.toml",
            tls={"address": tls_proxy.address, "tls": {"server_ca_cert_path": str(pki.ca_cert)}},
        )
        env = clean_env(TEMPORAL_CONFIG_FILE=str(toml), CLAIM_CHECK_FILE_ROOT=str(tmp_path / "blobs"))
        queue = f"tq-{uuid.uuid4().hex[:6]}"
        worker_flags = ("--address", tls_proxy.address, "--tls-ca", str(pki.ca_cert), "--task-queue", queue)
        async with worker_process(*worker_flags, env=env) as banner:
            assert f"worker on {tls_proxy.address}, namespace 'default' (TLS)" in banner
            result = await ask("--profile", "tls", "--task-queue", queue, env=env)
        assert result.returncode == 0, result.stderr[-2000:]
        report = json.loads(result.stdout)
        assert (report["status"], report["claim_check"]) == ("completed", "codec")
        assert report["history_size_bytes"] < 16 * 1024
        assert list((tmp_path / "blobs").rglob("sha256/*")), "the claim-checked payloads are in the store"
        assert await workflow_in(dev_server.address, "default", report["workflow_id"]) == "COMPLETED"

    async def test_without_the_ca_the_handshake_fails_in_one_line(
        self, tls_proxy: TlsProxy, tmp_path: Path
    ) -> None:
        env = clean_env(TEMPORAL_CONFIG_FILE=str(tmp_path / "none.toml"))
        result = await ask_plain("--address", tls_proxy.address, "--tls", env=env)
        assert result.returncode == 1
        assert result.stderr == (
            f"start_workflow.py: TlsHandshakeFailed: TLS handshake with Temporal at {tls_proxy.address} (address from "
            "--address) failed: its certificate is not signed by a CA this client trusts; pass the CA "
            "that signed it with --tls-ca (TEMPORAL_TLS_SERVER_CA_CERT_PATH)\n"
        )
        result = await ask("--address", tls_proxy.address, "--tls", env=env)  # --json: one JSON object
        assert result.returncode == 1 and json.loads(result.stdout)["error"]["type"] == "TlsHandshakeFailed"
        result = await ask_plain("--address", tls_proxy.address, env=env)  # plaintext to a TLS port
        assert result.returncode == 1
        assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
        assert "if the server expects TLS, pass --tls-ca or --tls (TEMPORAL_TLS=true)" in result.stderr

    async def test_a_wrong_server_name_and_a_plaintext_server_are_named(
        self, dev_server: DevServer, tls_proxy: TlsProxy, pki: Pki, tmp_path: Path
    ) -> None:
        env = clean_env(TEMPORAL_CONFIG_FILE=str(tmp_path / "none.toml"))
        ca = ("--tls-ca", str(pki.ca_cert))
        result = await ask_plain(
            "--address", tls_proxy.address, *ca, "--tls-server-name", "wrong.test", env=env
        )
        assert result.returncode == 1
        assert f"(it names {SERVER_NAME}, localhost, 127.0.0.1); set --tls-server-name" in result.stderr
        result = await ask_plain("--address", dev_server.address, *ca, env=env)
        assert result.returncode == 1
        assert "the server did not answer in TLS (a plaintext port?)" in result.stderr

    async def test_mtls_needs_the_client_certificate(
        self, dev_server: DevServer, pki: Pki, tmp_path: Path
    ) -> None:
        proxy = await TlsProxy.start(upstream=dev_server.address, pki=pki, require_client_cert=True)
        try:
            env = clean_env(
                TEMPORAL_CONFIG_FILE=str(tmp_path / "none.toml"), CLAIM_CHECK_FILE_ROOT=str(tmp_path / "b")
            )
            ca = ("--address", proxy.address, "--tls-ca", str(pki.ca_cert))
            result = await ask_plain(*ca, env=env)
            assert result.returncode == 1
            assert result.stderr.count("\n") == 1
            assert (
                "the server closed the connection; it probably requires a client certificate" in result.stderr
            )
            queue = f"tq-{uuid.uuid4().hex[:6]}"
            mtls = (*ca, "--tls-cert", str(pki.client_cert), "--tls-key", str(pki.client_key))
            async with worker_process(*mtls, "--task-queue", queue, env=env):
                result = await ask(*mtls, "--task-queue", queue, env=env)
            assert result.returncode == 0, result.stderr[-2000:]
            assert json.loads(result.stdout)["status"] == "completed"
        finally:
            await proxy.stop()

    def test_bad_certificate_files_fail_before_connecting(self, pki: Pki, tmp_path: Path) -> None:
        env = clean_env(TEMPORAL_CONFIG_FILE=str(tmp_path / "none.toml"))
        result = run("worker.py", "--tls-ca", str(tmp_path / "missing.pem"), env=env)
        assert (result.returncode, result.stderr) == (
            1,
            f"worker.py: TlsFileError: TLS CA certificate {tmp_path / 'missing.pem'} (from --tls-ca): no such file\n",
        )
        mtls = ("--tls-cert", str(pki.client_cert), "--tls-key", str(tmp_path))
        result = run("start_workflow.py", *mtls, env=env)
        assert (result.returncode, result.stderr) == (
            1,
            f"start_workflow.py: TlsFileError: cannot read TLS client key {tmp_path} (from --tls-key): it is a directory\n",
        )
