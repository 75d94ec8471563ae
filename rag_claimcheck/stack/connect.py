"""Connecting to Temporal the way the Temporal CLI does: a ``temporal.toml`` profile, then ``TEMPORAL_*``
variables, then the command's flags.

Both commands and the notebook session call :func:`resolve_target` and :func:`connect`, so every way
into the kit reads the same profile file as ``temporal`` itself (:mod:`temporalio.envconfig`). Each
value comes from, highest first:

1. the flag (``--address``, ``--namespace``, ``--api-key``, ``--tls``, ``--tls-cert``, ``--tls-key``,
   ``--tls-ca``, ``--tls-server-name``);
2. the variable (``TEMPORAL_ADDRESS``, ``TEMPORAL_NAMESPACE``, ``TEMPORAL_API_KEY``, ``TEMPORAL_TLS``,
   ``TEMPORAL_TLS_CLIENT_CERT_PATH``, ``TEMPORAL_TLS_CLIENT_KEY_PATH``,
   ``TEMPORAL_TLS_SERVER_CA_CERT_PATH``, ``TEMPORAL_TLS_SERVER_NAME``);
3. the profile (``--profile``, else ``TEMPORAL_PROFILE``, else ``default``) in the file
   ``TEMPORAL_CONFIG_FILE`` names, else ``~/.config/temporalio/temporal.toml``;
4. the kit's default: ``localhost:7233``, namespace ``default``, plaintext.

Anything that stops a connection (a missing certificate, a key that is not a key, a failed TLS
handshake, rejected credentials, an unknown namespace) raises :class:`ConnectError` with one line
that names the address, where the value came from and what to check.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest
from temporalio.client import Client, Plugin
from temporalio.envconfig import ClientConfigProfile, ClientConfigTLS, ClientConnectConfig, DataSource
from temporalio.service import RPCError, RPCStatusCode

from rag_claimcheck.stack.preflight import CommandError, no_server_error

DEFAULT_ADDRESS = "localhost:7233"
DEFAULT_NAMESPACE = "default"
DEFAULT_PROFILE = "default"

PROFILE_ERROR = "TemporalProfileError"
TLS_FILE_ERROR = "TlsFileError"
TLS_HANDSHAKE_FAILED = "TlsHandshakeFailed"
AUTH_FAILED = "TemporalAuthFailed"
NAMESPACE_NOT_FOUND = "NamespaceNotFound"
CONNECT_FAILED = "TemporalConnectFailed"

TlsFile = Literal["cert", "key", "ca"]

_TLS_FILES: dict[TlsFile, tuple[str, str, str, str]] = {
    # field on ClientConfigTLS, flag, variable, what it is
    "cert": ("client_cert", "--tls-cert", "TEMPORAL_TLS_CLIENT_CERT_PATH", "TLS client certificate"),
    "key": ("client_private_key", "--tls-key", "TEMPORAL_TLS_CLIENT_KEY_PATH", "TLS client key"),
    "ca": ("server_root_ca_cert", "--tls-ca", "TEMPORAL_TLS_SERVER_CA_CERT_PATH", "TLS CA certificate"),
}
_DROPPED_AFTER_HANDSHAKE = (
    "CertificateRequired",
    "BadCertificate",
    "HandshakeFailure",
    "close_notify",
    "UnexpectedEof",
    "connection closed",
    "BrokenPipe",
    "ConnectionReset",
    "ConnectionAborted",
)
_PEM_CERT = re.compile(rb"-----BEGIN CERTIFICATE-----")
_PEM_KEY = re.compile(rb"-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----")


class ConnectError(CommandError):
    """The kit could not connect: ``type`` is one of the constants above, the message one line
    naming the address (or file) and what to check."""


@dataclass(frozen=True)
class ConnectionFlags:
    """What the user typed; ``None`` means "not given" (the variable, profile or default decides)."""

    profile: str | None = None
    address: str | None = None
    namespace: str | None = None
    api_key: str | None = None
    tls: bool | None = None
    tls_cert: Path | None = None
    tls_key: Path | None = None
    tls_ca: Path | None = None
    tls_server_name: str | None = None

    @classmethod
    def from_namespace(cls, args: object) -> ConnectionFlags:
        """The flags from an :class:`argparse.Namespace` built by :func:`add_connection_flags`."""
        return cls(**{f.name: getattr(args, f.name, None) for f in dataclasses.fields(cls)})


@dataclass(frozen=True)
class ConnectionTarget:
    """Where to connect and how, with the origin of each value (for messages and ``--help``)."""

    address: str
    namespace: str
    config: ClientConnectConfig
    """Keyword arguments for :meth:`temporalio.client.Client.connect` (plugins are added by :func:`connect`)."""
    origins: Mapping[str, str]
    """``address``, ``namespace``, ``api_key``, ``tls``: the flag, variable or profile it came from."""

    @property
    def tls(self) -> bool:
        """Whether the connection uses TLS."""
        return self.config.get("tls", False) is not False

    def describe(self) -> str:
        """``127.0.0.1:7233, namespace 'default' (TLS, API key)`` for status lines."""
        extras = [x for x, on in (("TLS", self.tls), ("API key", "api_key" in self.config)) if on]
        return f"{self.address}, namespace {self.namespace!r}" + (f" ({', '.join(extras)})" if extras else "")


def config_file_path(env: Mapping[str, str] | None = None) -> Path:
    """The profile file the SDK and the Temporal CLI read: ``TEMPORAL_CONFIG_FILE`` or the default."""
    env = os.environ if env is None else env
    if env.get("TEMPORAL_CONFIG_FILE"):
        return Path(env["TEMPORAL_CONFIG_FILE"])
    if sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    elif sys.platform == "win32":
        base = Path(env.get("APPDATA", Path.home()))
    else:
        base = Path(env.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / "temporalio" / "temporal.toml"


def resolve_target(flags: ConnectionFlags, *, env: Mapping[str, str] | None = None) -> ConnectionTarget:
    """The profile (file + variables) with the flags on top; certificate and key files checked.

    Raises:
        ConnectError: The profile does not exist or the file does not parse, or a TLS file is
            missing, unreadable or not PEM.
    """
    env = dict(os.environ if env is None else env)
    profile_name = flags.profile or env.get("TEMPORAL_PROFILE") or DEFAULT_PROFILE
    file = config_file_path(env)
    in_profile = f"profile {profile_name!r} in {file}"
    try:
        # None lets the SDK apply TEMPORAL_PROFILE, and "default" only if the file has it.
        profile = ClientConfigProfile.load(profile=flags.profile, override_env_vars=env)
    except Exception as e:  # the bridge's ConfigError: unknown profile, TOML syntax, bad value
        chosen_by = (
            "--profile" if flags.profile else "TEMPORAL_PROFILE" if env.get("TEMPORAL_PROFILE") else None
        )
        where = f" (from {chosen_by})" if chosen_by else ""
        missing = "" if file.is_file() else " (no such file)"
        raise ConnectError(PROFILE_ERROR, f"profile {profile_name!r}{where} in {file}{missing}: {e}") from e

    def origin(flag: str, flag_value: object, variable: str, profile_value: object, default: str) -> str:
        if flag_value is not None:
            return flag
        if env.get(variable):
            return variable
        return in_profile if profile_value is not None else default

    origins = {
        "address": origin("--address", flags.address, "TEMPORAL_ADDRESS", profile.address, "default"),
        "namespace": origin(
            "--namespace", flags.namespace, "TEMPORAL_NAMESPACE", profile.namespace, "default"
        ),
        "api_key": origin("--api-key", flags.api_key, "TEMPORAL_API_KEY", profile.api_key, "none"),
        "tls": origin("--tls", flags.tls, "TEMPORAL_TLS", profile.tls, "default"),
    }
    tls = profile.tls
    given = [
        name
        for name, value in (
            ("--tls-cert", flags.tls_cert),
            ("--tls-key", flags.tls_key),
            ("--tls-ca", flags.tls_ca),
            ("--tls-server-name", flags.tls_server_name),
        )
        if value is not None
    ]
    if given or flags.tls is not None:
        base = tls or ClientConfigTLS()
        tls = ClientConfigTLS(
            disabled=not (flags.tls if flags.tls is not None else True),
            server_name=flags.tls_server_name or base.server_name,
            server_root_ca_cert=flags.tls_ca or base.server_root_ca_cert,
            client_cert=flags.tls_cert or base.client_cert,
            client_private_key=flags.tls_key or base.client_private_key,
        )
        if given and flags.tls is None:
            origins["tls"] = ", ".join(given)
    if tls is not None and not tls.disabled:
        _check_tls_files(tls, flags=flags, env=env, in_profile=in_profile)
    profile = dataclasses.replace(
        profile,
        address=flags.address or profile.address or DEFAULT_ADDRESS,
        namespace=flags.namespace or profile.namespace or DEFAULT_NAMESPACE,
        api_key=flags.api_key if flags.api_key is not None else profile.api_key,
        tls=tls,
    )
    config = profile.to_client_connect_config()
    assert profile.address is not None and profile.namespace is not None
    return ConnectionTarget(
        address=profile.address, namespace=profile.namespace, config=config, origins=origins
    )


def _check_tls_files(
    tls: ClientConfigTLS, *, flags: ConnectionFlags, env: Mapping[str, str], in_profile: str
) -> None:
    """Every certificate and key exists, is readable and is PEM; a certificate comes with its key."""
    for kind, (attr, flag, variable, what) in _TLS_FILES.items():
        source: DataSource | None = getattr(tls, attr)
        if source is None:
            continue
        if getattr(flags, f"tls_{kind}") is not None:
            where = flag
        elif env.get(variable) or env.get(variable.replace("_PATH", "_DATA")):
            where = variable if env.get(variable) else variable.replace("_PATH", "_DATA")
        else:
            where = in_profile
        _check_pem(source, kind=kind, what=what, where=where)
    if (tls.client_cert is None) != (tls.client_private_key is None):
        have, need = (
            ("--tls-cert", "--tls-key") if tls.client_cert is not None else ("--tls-key", "--tls-cert")
        )
        raise ConnectError(
            TLS_FILE_ERROR,
            f"a TLS client certificate needs its key: {have} is set but {need} "
            f"({_TLS_FILES['key' if need == '--tls-key' else 'cert'][2]}) is not",
        )


def _check_pem(source: DataSource, *, kind: TlsFile, what: str, where: str) -> None:
    if isinstance(source, Path):
        label = f"{what} {source} (from {where})"
        try:
            data = source.read_bytes()
        except FileNotFoundError:
            raise ConnectError(TLS_FILE_ERROR, f"{label}: no such file") from None
        except IsADirectoryError:
            raise ConnectError(TLS_FILE_ERROR, f"cannot read {label}: it is a directory") from None
        except PermissionError:
            raise ConnectError(TLS_FILE_ERROR, f"cannot read {label}: permission denied") from None
        except OSError as e:
            raise ConnectError(TLS_FILE_ERROR, f"cannot read {label}: {e.strerror or e}") from None
    else:
        label = f"{what} (from {where})"
        data = source.encode() if isinstance(source, str) else source
    pattern, expected = (_PEM_KEY, "PRIVATE KEY") if kind == "key" else (_PEM_CERT, "CERTIFICATE")
    if not pattern.search(data):
        raise ConnectError(
            TLS_FILE_ERROR, f"{label} is not PEM: expected a '-----BEGIN {expected}-----' block"
        )


async def connect(
    target: ConnectionTarget, *, plugins: Sequence[Plugin] = (), check_namespace: bool = True
) -> Client:
    """A client on ``target`` with ``plugins`` (e.g. the claim-check plugin) added to the profile's config.

    Args:
        target: From :func:`resolve_target`.
        plugins: Client plugins; the claim-check plugin goes here.
        check_namespace: Ask the server for the namespace once, so rejected credentials and a
            wrong namespace fail here, with a clear message, instead of at the first workflow call.

    Raises:
        ConnectError: One line naming the address and what to check.
    """
    config: dict[str, Any] = dict(target.config)
    try:
        client = await Client.connect(**config, plugins=list(plugins))
    except RuntimeError as e:  # the SDK's "Failed client connect: ..." (the Rust core's transport error)
        raise connect_failure(target, e) from None
    if check_namespace:
        try:
            await client.workflow_service.describe_namespace(
                DescribeNamespaceRequest(namespace=target.namespace)
            )
        except RPCError as e:
            raise rpc_failure(target, e) from None
    return client


def connect_failure(target: ConnectionTarget, error: BaseException) -> CommandError:
    """The one-line error for the SDK core's connect error: what failed at which address, what to check.

    TLS problems get a :class:`ConnectError`; nothing answering at all is
    :func:`~rag_claimcheck.stack.preflight.no_server_error`'s ``NoTemporalServer``.
    """
    text = str(error)
    at = f"Temporal at {target.address} (address from {target.origins.get('address', 'default')})"

    def handshake(why: str) -> ConnectError:
        return ConnectError(TLS_HANDSHAKE_FAILED, f"TLS handshake with {at} failed: {why}")

    if "UnknownIssuer" in text or "UnknownCA" in text:
        return handshake(
            "its certificate is not signed by a CA this client trusts; pass the CA that signed it "
            "with --tls-ca (TEMPORAL_TLS_SERVER_CA_CERT_PATH)"
        )
    if "NotValidForName" in text:
        names = ", ".join(
            re.findall(r'(?:DnsName|IpAddress)\(\\?"?([^"\\)]+)', text.split("presented", 1)[-1])
        )
        return handshake(
            f"its certificate is not valid for the name this client checked (it names "
            f"{names or 'other hosts'}); set --tls-server-name (TEMPORAL_TLS_SERVER_NAME) to one of those"
        )
    if "InvalidCertificate" in text:
        why = re.search(r"InvalidCertificate\((\w+)", text)
        return handshake(
            f"the server's certificate was rejected ({why.group(1) if why else 'invalid'}); "
            "check the server's certificate and --tls-ca"
        )
    if "InvalidContentType" in text or "InvalidMessage" in text or "CorruptMessage" in text:
        return handshake(
            "the server did not answer in TLS (a plaintext port?); connect without TLS (no --tls-*, "
            "no --api-key, TEMPORAL_TLS=false) or use its TLS port"
        )
    if "PrivateKeyParseError" in text:
        return handshake("the client key could not be parsed; check --tls-key (TEMPORAL_TLS_CLIENT_KEY_PATH)")
    if target.tls and any(sign in text for sign in _DROPPED_AFTER_HANDSHAKE):
        # TLS 1.3: the client's side of the handshake is done before the server checks the client
        # certificate, so a refusal arrives as an alert or as the connection closing on the first call.
        return handshake(
            "the server closed the connection; it probably requires a client certificate it trusts "
            "(--tls-cert and --tls-key), or a different --tls-server-name"
        )
    if not target.tls and "after connection" in text:  # something listens, but broke off the first call
        return ConnectError(
            CONNECT_FAILED,
            f"{at} broke off the plaintext connection ({_short(text.removeprefix('Failed client connect: '), 120)}); "
            "if the server expects TLS, pass --tls-ca or --tls (TEMPORAL_TLS=true)",
        )
    return no_server_error(target.address, error)


def rpc_failure(target: ConnectionTarget, error: RPCError) -> ConnectError:
    """The one-line error for a refused first call: credentials, permissions or the namespace."""
    at = f"Temporal at {target.address}"
    if error.status in (RPCStatusCode.UNAUTHENTICATED, RPCStatusCode.PERMISSION_DENIED):
        creds = (
            "the API key"
            if "api_key" in target.config
            else "the client certificate"
            if target.tls
            else "credentials"
        )
        return ConnectError(
            AUTH_FAILED,
            f"{at} rejected {creds} for namespace {target.namespace!r} ({error.status.name}: "
            f"{error.message}); check --api-key (TEMPORAL_API_KEY) or --tls-cert/--tls-key, and that "
            "they are allowed on that namespace",
        )
    if error.status == RPCStatusCode.NOT_FOUND:
        return ConnectError(
            NAMESPACE_NOT_FOUND,
            f"{at} has no namespace {target.namespace!r} (namespace from "
            f"{target.origins.get('namespace', 'default')}): {error.message}",
        )
    return ConnectError(
        CONNECT_FAILED, f"{at}, namespace {target.namespace!r}: {error.status.name}: {_short(error.message)}"
    )


def _short(text: str, limit: int = 300) -> str:
    one_line = " ".join(text.split())
    return one_line if len(one_line) <= limit else one_line[: limit - 1] + "…"


CONNECTION_HELP = (
    "Each value comes from the flag, else its TEMPORAL_* variable, else the profile (--profile, else "
    "TEMPORAL_PROFILE, else 'default') in the Temporal CLI's profile file (TEMPORAL_CONFIG_FILE, else "
    "~/.config/temporalio/temporal.toml), else the default. An API key or any --tls-* flag turns TLS on."
)


def add_connection_flags(parser: argparse.ArgumentParser) -> argparse._ArgumentGroup:
    """``--profile``, ``--address``, ``--namespace``, ``--api-key`` and the ``--tls*`` flags, in one group."""
    group = parser.add_argument_group("Temporal connection", CONNECTION_HELP)
    group.add_argument("--profile", help="profile in the profile file (TEMPORAL_PROFILE; default 'default')")
    group.add_argument(
        "--address",
        help=f"frontend host:port (TEMPORAL_ADDRESS; profile 'address'; default {DEFAULT_ADDRESS})",
    )
    group.add_argument(
        "--namespace",
        help=f"namespace (TEMPORAL_NAMESPACE; profile 'namespace'; default {DEFAULT_NAMESPACE})",
    )
    group.add_argument(
        "--api-key",
        help="API key, sent as a bearer token over TLS (TEMPORAL_API_KEY; profile 'api_key'; default none; "
        "prefer the variable: flags show in ps)",
    )
    group.add_argument(
        "--tls",
        action="store_true",
        default=None,
        help="use TLS with the system's CAs (TEMPORAL_TLS=true; profile [tls]; default off)",
    )
    group.add_argument(
        "--tls-cert",
        type=Path,
        metavar="PEM",
        help="client certificate for mTLS (TEMPORAL_TLS_CLIENT_CERT_PATH; profile tls.client_cert_path)",
    )
    group.add_argument(
        "--tls-key",
        type=Path,
        metavar="PEM",
        help="client private key for mTLS (TEMPORAL_TLS_CLIENT_KEY_PATH; profile tls.client_key_path)",
    )
    group.add_argument(
        "--tls-ca",
        type=Path,
        metavar="PEM",
        help="CA that signed the server's certificate (TEMPORAL_TLS_SERVER_CA_CERT_PATH; profile "
        "tls.server_ca_cert_path; default the system's CAs)",
    )
    group.add_argument(
        "--tls-server-name",
        metavar="NAME",
        help="name to verify the server's certificate against (TEMPORAL_TLS_SERVER_NAME; profile "
        "tls.server_name; default the host of the address)",
    )
    return group
