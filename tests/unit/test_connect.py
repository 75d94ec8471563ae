"""Where each connection value comes from (flag > TEMPORAL_* > profile > default) and the one-line errors."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest
from temporalio.service import RPCError, RPCStatusCode, TLSConfig

from rag_claimcheck.stack.connect import (
    ConnectError,
    ConnectionFlags,
    add_connection_flags,
    connect_failure,
    resolve_target,
    rpc_failure,
)

CERT = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
KEY = "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n"


@pytest.fixture
def toml(tmp_path: Path) -> Path:
    (tmp_path / "ca.pem").write_text(CERT)
    path = tmp_path / "temporal.toml"
    path.write_text(
        f"""
[profile.default]
address = "default-host:7233"

[profile.staging]
address = "staging-host:7233"
namespace = "staging"

[profile.secure]
address = "secure-host:7233"
namespace = "secure"
[profile.secure.tls]
server_ca_cert_path = "{tmp_path / "ca.pem"}"
server_name = "temporal.internal"

[profile.missing-ca]
address = "secure-host:7233"
[profile.missing-ca.tls]
server_ca_cert_path = "{tmp_path / "nope.pem"}"
"""
    )
    return path


def env_for(toml: Path, **more: str) -> dict[str, str]:
    return {"TEMPORAL_CONFIG_FILE": str(toml), **more}


class TestWhereValuesComeFrom:
    def test_no_file_no_variables_no_flags_is_localhost_default_plaintext(self, tmp_path: Path) -> None:
        target = resolve_target(ConnectionFlags(), env={"TEMPORAL_CONFIG_FILE": str(tmp_path / "none.toml")})
        assert (target.address, target.namespace, target.tls) == ("localhost:7233", "default", False)
        assert target.origins["address"] == target.origins["namespace"] == "default"

    def test_the_default_profile_applies_without_being_named(self, toml: Path) -> None:
        target = resolve_target(ConnectionFlags(), env=env_for(toml))
        assert (target.address, target.namespace) == ("default-host:7233", "default")
        assert target.origins["address"] == f"profile 'default' in {toml}"

    def test_profile_flag_and_variable_select_a_profile(self, toml: Path) -> None:
        by_flag = resolve_target(ConnectionFlags(profile="staging"), env=env_for(toml))
        by_var = resolve_target(ConnectionFlags(), env=env_for(toml, TEMPORAL_PROFILE="staging"))
        for target in (by_flag, by_var):
            assert (target.address, target.namespace) == ("staging-host:7233", "staging")

    def test_variables_override_the_profile_and_flags_override_both(self, toml: Path) -> None:
        env = env_for(toml, TEMPORAL_PROFILE="staging", TEMPORAL_NAMESPACE="from-env")
        target = resolve_target(ConnectionFlags(), env=env)
        assert (target.address, target.namespace) == ("staging-host:7233", "from-env")
        assert target.origins["namespace"] == "TEMPORAL_NAMESPACE"
        target = resolve_target(ConnectionFlags(address="flag-host:1", namespace="from-flag"), env=env)
        assert (target.address, target.namespace) == ("flag-host:1", "from-flag")
        assert target.origins == {
            "address": "--address",
            "namespace": "--namespace",
            "api_key": "none",
            "tls": "default",
        }

    def test_a_tls_profile_produces_a_tls_config_with_its_ca(self, toml: Path) -> None:
        target = resolve_target(ConnectionFlags(profile="secure"), env=env_for(toml))
        tls = target.config["tls"]
        assert isinstance(tls, TLSConfig)
        assert tls.server_root_ca_cert == CERT.encode() and tls.domain == "temporal.internal"

    def test_tls_flags_replace_single_fields_of_the_profile(self, toml: Path, tmp_path: Path) -> None:
        other = tmp_path / "other.pem"
        other.write_text(CERT.replace("MIIB", "MIIC"))
        target = resolve_target(ConnectionFlags(profile="secure", tls_ca=other), env=env_for(toml))
        tls = target.config["tls"]
        assert isinstance(tls, TLSConfig)
        assert tls.server_root_ca_cert == other.read_bytes() and tls.domain == "temporal.internal"
        assert target.origins["tls"] == "--tls-ca"

    def test_an_api_key_turns_tls_on(self, tmp_path: Path) -> None:
        target = resolve_target(
            ConnectionFlags(), env={"TEMPORAL_CONFIG_FILE": str(tmp_path / "x"), "TEMPORAL_API_KEY": "k"}
        )
        assert target.config["api_key"] == "k" and target.tls
        assert target.describe() == "localhost:7233, namespace 'default' (TLS, API key)"


class TestBadInputIsOneLine:
    def test_unknown_profile_names_the_file_and_the_flag(self, toml: Path) -> None:
        with pytest.raises(ConnectError) as e:
            resolve_target(ConnectionFlags(profile="prod"), env=env_for(toml))
        assert str(e.value) == f"profile 'prod' (from --profile) in {toml}: Profile 'prod' not found"

    def test_missing_ca_from_a_flag(self, tmp_path: Path) -> None:
        with pytest.raises(ConnectError) as e:
            resolve_target(ConnectionFlags(tls_ca=tmp_path / "ca.pem"), env={})
        assert str(e.value) == f"TLS CA certificate {tmp_path / 'ca.pem'} (from --tls-ca): no such file"

    def test_missing_ca_from_the_profile_names_the_profile(self, toml: Path, tmp_path: Path) -> None:
        with pytest.raises(ConnectError) as e:
            resolve_target(ConnectionFlags(profile="missing-ca"), env=env_for(toml))
        assert str(e.value) == (
            f"TLS CA certificate {tmp_path / 'nope.pem'} (from profile 'missing-ca' in {toml}): no such file"
        )

    def test_unreadable_key_from_a_variable(self, tmp_path: Path) -> None:
        cert = tmp_path / "c.pem"
        cert.write_text(CERT)
        env = {"TEMPORAL_TLS_CLIENT_CERT_PATH": str(cert), "TEMPORAL_TLS_CLIENT_KEY_PATH": str(tmp_path)}
        with pytest.raises(ConnectError) as e:
            resolve_target(ConnectionFlags(), env=env)
        assert str(e.value) == (
            f"cannot read TLS client key {tmp_path} (from TEMPORAL_TLS_CLIENT_KEY_PATH): it is a directory"
        )

    def test_a_key_that_is_not_pem(self, tmp_path: Path) -> None:
        (tmp_path / "c.pem").write_text(CERT)
        (tmp_path / "c.key").write_text(CERT)  # the certificate twice: a common slip
        flags = ConnectionFlags(tls_cert=tmp_path / "c.pem", tls_key=tmp_path / "c.key")
        with pytest.raises(ConnectError) as e:
            resolve_target(flags, env={})
        assert str(e.value) == (
            f"TLS client key {tmp_path / 'c.key'} (from --tls-key) is not PEM: "
            "expected a '-----BEGIN PRIVATE KEY-----' block"
        )

    def test_a_certificate_without_its_key(self, tmp_path: Path) -> None:
        (tmp_path / "c.pem").write_text(CERT)
        with pytest.raises(ConnectError) as e:
            resolve_target(ConnectionFlags(tls_cert=tmp_path / "c.pem"), env={})
        assert str(e.value) == (
            "a TLS client certificate needs its key: --tls-cert is set but --tls-key "
            "(TEMPORAL_TLS_CLIENT_KEY_PATH) is not"
        )


class TestServerFailuresAreExplained:
    """The SDK core's and the server's words turned into what to check (real strings, captured once)."""

    target = resolve_target(ConnectionFlags(address="h:7233", api_key="k"), env={})

    def test_untrusted_certificate_points_at_tls_ca(self) -> None:
        core = (
            "Failed client connect: Server connection error: tonic::transport::Error(Transport, "
            "ConnectError(Custom { kind: InvalidData, error: InvalidCertificate(UnknownIssuer) }))"
        )
        message = str(connect_failure(self.target, RuntimeError(core)))
        assert message.startswith("TLS handshake with Temporal at h:7233 (address from --address) failed")
        assert "--tls-ca" in message and "\n" not in message

    def test_wrong_name_lists_the_names_the_certificate_has(self) -> None:
        core = (
            "Failed client connect: Server connection error: tonic::transport::Error(Transport, "
            "ConnectError(Custom { kind: InvalidData, error: InvalidCertificate(NotValidForNameContext { expected: "
            'DnsName("wrong.test"), presented: ["DnsName(\\"temporal.test\\")", "IpAddress(127.0.0.1)"] }) }))'
        )
        message = str(connect_failure(self.target, RuntimeError(core)))
        assert "(it names temporal.test, 127.0.0.1)" in message and "--tls-server-name" in message

    @pytest.mark.parametrize(
        "after_handshake",
        [
            'Status { code: Unknown, message: "transport error", source: Some(tonic::transport::Error('
            'Transport, hyper::Error(Io, Custom { kind: UnexpectedEof, error: "peer closed connection '
            'without sending TLS close_notify" }))) }',
            'Status { code: Cancelled, message: "operation was canceled", source: Some(tonic::transport::'
            'Error(Transport, hyper::Error(Canceled, "connection closed"))) }',
            'Status { code: Unknown, message: "transport error", source: Some(tonic::transport::Error('
            'Transport, hyper::Error(Io, Custom { kind: BrokenPipe, error: "stream closed because of a '
            'broken pipe" }))) }',
            'Status { code: Unknown, message: "transport error", source: Some(tonic::transport::Error('
            "Transport, hyper::Error(Io, Kind(ConnectionReset)))) }",
        ],
    )
    def test_a_server_dropping_a_tls_client_without_certificate_points_at_tls_cert(
        self, after_handshake: str
    ) -> None:
        # the four ways an mTLS proxy's refusal reached the client, captured against tests' TLS proxy
        core = f"Failed client connect: `get_system_info` call error after connection: {after_handshake}"
        failure = connect_failure(self.target, RuntimeError(core))
        assert failure.type == "TlsHandshakeFailed"
        assert (
            "it probably requires a client certificate it trusts (--tls-cert and --tls-key)"
            in failure.message
        )

    def test_plaintext_to_a_tls_port_suggests_tls_and_a_refused_port_is_no_server(self) -> None:
        plain = resolve_target(ConnectionFlags(address="h:7233"), env={})
        dropped = (
            "Failed client connect: `get_system_info` call error after connection: Status { code: "
            'Cancelled, message: "operation was canceled", source: Some(tonic::transport::Error('
            'Transport, hyper::Error(Canceled, "connection closed"))) }'
        )
        failure = connect_failure(plain, RuntimeError(dropped))
        assert failure.type == "TemporalConnectFailed"
        assert failure.message.endswith(
            "if the server expects TLS, pass --tls-ca or --tls (TEMPORAL_TLS=true)"
        )
        refused = (
            "Failed client connect: Server connection error: tonic::transport::Error(Transport, ConnectError("
            'ConnectError("tcp connect error", 127.0.0.1:1, Os { code: 111, kind: ConnectionRefused, '
            'message: "Connection refused" })))'
        )
        assert connect_failure(plain, RuntimeError(refused)).type == "NoTemporalServer"

    @pytest.mark.parametrize("status", [RPCStatusCode.UNAUTHENTICATED, RPCStatusCode.PERMISSION_DENIED])
    def test_rejected_api_key_names_address_namespace_and_what_to_check(self, status: RPCStatusCode) -> None:
        error = RPCError("Request unauthorized.", status, b"")
        failure = rpc_failure(self.target, error)
        assert failure.type == "TemporalAuthFailed"
        assert failure.message == (
            f"Temporal at h:7233 rejected the API key for namespace 'default' ({status.name}: "
            "Request unauthorized.); check --api-key (TEMPORAL_API_KEY) or --tls-cert/--tls-key, "
            "and that they are allowed on that namespace"
        )


def test_help_names_the_variable_and_profile_key_of_every_connection_flag() -> None:
    parser = argparse.ArgumentParser(prog="worker.py")
    add_connection_flags(parser)
    text = " ".join(parser.format_help().split())
    assert "else its TEMPORAL_* variable, else the profile" in text
    for flag, variable, key in [
        ("--profile", "TEMPORAL_PROFILE", None),
        ("--address", "TEMPORAL_ADDRESS", "profile 'address'"),
        ("--namespace", "TEMPORAL_NAMESPACE", "profile 'namespace'"),
        ("--api-key", "TEMPORAL_API_KEY", "profile 'api_key'"),
        ("--tls", "TEMPORAL_TLS=true", "profile [tls]"),
        ("--tls-cert", "TEMPORAL_TLS_CLIENT_CERT_PATH", "tls.client_cert_path"),
        ("--tls-key", "TEMPORAL_TLS_CLIENT_KEY_PATH", "tls.client_key_path"),
        ("--tls-ca", "TEMPORAL_TLS_SERVER_CA_CERT_PATH", "tls.server_ca_cert_path"),
        ("--tls-server-name", "TEMPORAL_TLS_SERVER_NAME", "tls.server_name"),
    ]:
        action = next(a for a in parser._actions if flag in a.option_strings)
        assert action.help is not None and variable in action.help, flag
        assert key is None or key in action.help, flag
