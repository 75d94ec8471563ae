"""What a codec server may do and for whom: one frozen dataclass, with defaults that are safe locally.

Every option can also come from a ``CLAIM_CHECK_CODEC_*`` environment variable (see
:meth:`CodecServerOptions.from_env`); the store itself is configured by the usual
``CLAIM_CHECK_*`` variables of :class:`~rag_claimcheck.claimcheck.settings.ClaimCheckSettings`.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal, get_args
from urllib.parse import urlsplit

from rag_claimcheck.claimcheck.driver import DRIVER_NAME
from rag_claimcheck.codec_server.budget import DEFAULT_MAX_DECODE_BYTES

DEFAULT_HOST = "127.0.0.1"
"""Bind address: loopback, so nothing off this machine can reach the server unless asked to."""
DEFAULT_PORT = 8081
"""Port of ``python -m rag_claimcheck.codec_server`` (the in-process server takes a free port)."""
DEFAULT_UI_ORIGINS: tuple[str, ...] = ("http://localhost:8233", "http://127.0.0.1:8233")
"""The dev server's Web UI (``temporal server start-dev`` serves it on port 8233)."""
LOOPBACK_HOSTS: tuple[str, ...] = ("localhost", "127.0.0.1", "::1")
"""``Host`` header names accepted by default; anything else is refused (DNS-rebinding guard)."""
ANY_HOST = "*"
"""In ``allowed_hosts``: accept any ``Host`` header."""
DEFAULT_DISPLAY_MAX_BYTES = 256 * 1024
"""Decoded payloads larger than this (256 KiB of data) are shown as a summary with a link."""
DEFAULT_MAX_REQUEST_BYTES = 16 * 1024 * 1024
"""Largest request body accepted (16 MiB); a larger one is answered with 413."""
DEFAULT_LINK_TTL_SECONDS = 3600
"""How long a signed blob link in a summary stays valid (1 hour)."""
DEFAULT_NAMESPACE = "default"
"""Namespace assumed when a request sends no (or an empty) ``X-Namespace`` header."""

EncodeMode = Literal["claim-check", "passthrough"]
ENCODE_MODES: tuple[EncodeMode, ...] = get_args(EncodeMode)

ENV_TOKEN = "CLAIM_CHECK_CODEC_TOKEN"
ENV_HOST = "CLAIM_CHECK_CODEC_HOST"
ENV_PORT = "CLAIM_CHECK_CODEC_PORT"
ENV_CORS_ORIGINS = "CLAIM_CHECK_CODEC_CORS_ORIGINS"
ENV_ALLOWED_HOSTS = "CLAIM_CHECK_CODEC_ALLOWED_HOSTS"
ENV_DISPLAY_MAX_BYTES = "CLAIM_CHECK_CODEC_DISPLAY_MAX_BYTES"
ENV_MAX_REQUEST_BYTES = "CLAIM_CHECK_CODEC_MAX_REQUEST_BYTES"
ENV_MAX_DECODE_BYTES = "CLAIM_CHECK_CODEC_MAX_DECODE_BYTES"
ENV_PUBLIC_URL = "CLAIM_CHECK_CODEC_PUBLIC_URL"
ENV_ENCODE = "CLAIM_CHECK_CODEC_ENCODE"
ENV_NAMESPACE = "TEMPORAL_NAMESPACE"
ENV_VARS: tuple[str, ...] = (
    ENV_TOKEN,
    ENV_HOST,
    ENV_PORT,
    ENV_CORS_ORIGINS,
    ENV_ALLOWED_HOSTS,
    ENV_DISPLAY_MAX_BYTES,
    ENV_MAX_REQUEST_BYTES,
    ENV_MAX_DECODE_BYTES,
    ENV_PUBLIC_URL,
    ENV_ENCODE,
    ENV_NAMESPACE,
)
"""Every environment variable the codec server reads (besides the store's ``CLAIM_CHECK_*``)."""

_LOOPBACK_TWINS = {"localhost": "127.0.0.1", "127.0.0.1": "localhost"}


class CodecServerConfigError(ValueError):
    """An option makes no sense; the message names the option."""


def normalize_origin(origin: str) -> str:
    """``scheme://host[:port]`` in lower case, or :class:`CodecServerConfigError`.

    A browser's ``Origin`` header has exactly this shape, so comparing normalized strings is exact.
    """
    parts = urlsplit(origin.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise CodecServerConfigError(f"CORS origin must look like http://host:port; got {origin!r}")
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username:
        raise CodecServerConfigError(f"CORS origin must not have a path, query or user; got {origin!r}")
    host = parts.hostname.lower()
    netloc = f"[{host}]" if ":" in host else host
    if parts.port is not None:
        netloc += f":{parts.port}"
    return f"{parts.scheme}://{netloc}"


def with_loopback_twins(origins: Iterable[str]) -> tuple[str, ...]:
    """Normalized origins, each ``localhost`` origin paired with its ``127.0.0.1`` twin and back.

    The dev server prints ``http://127.0.0.1:<port>`` but people type ``localhost``; both are the
    same UI on the same machine.
    """
    result: list[str] = []
    for origin in origins:
        normalized = normalize_origin(origin)
        parts = urlsplit(normalized)
        candidates = [normalized]
        twin = _LOOPBACK_TWINS.get(parts.hostname or "")
        if twin:
            candidates.append(normalized.replace(f"//{parts.hostname}", f"//{twin}", 1))
        result.extend(c for c in candidates if c not in result)
    return tuple(result)


def _split_list(raw: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in raw.replace(" ", ",").split(",") if item.strip())


@dataclass(frozen=True)
class CodecServerOptions:
    """How the codec server behaves. Defaults are right for a laptop with the dev server's UI.

    Attributes:
        token: With a token, every request but a CORS preflight needs ``Authorization: Bearer
            <token>`` (or, for a blob link, the signature the server put in it); ``None`` = no auth.
        cors_origins: Web UI origins allowed to call the server from a browser (each loopback
            origin also allows its ``localhost``/``127.0.0.1`` twin).
        allowed_hosts: ``Host`` header names accepted; ``("*",)`` accepts any. The loopback
            default stops DNS-rebinding pages from reaching a local server under their own name.
        display_max_bytes: Decoded payloads with more data than this become a summary payload.
        max_request_bytes: Request bodies larger than this are refused with 413.
        max_decode_bytes: What one ``/decode`` request may read from the store plus return;
            references beyond it become summaries with a link (see :mod:`.budget`).
        default_namespace: Namespace for requests without an ``X-Namespace`` header.
        encode: ``claim-check`` (``/encode`` stores large payloads like the worker's codec does)
            or ``passthrough`` (``/encode`` returns payloads unchanged).
        public_url: Base URL for blob links when the server sits behind a proxy; default: the
            scheme and ``Host`` of the request.
        link_ttl_seconds: Lifetime of a signed blob link (only with a token).
        driver_names: ``ExternalStorageReference`` driver names whose claims this server reads.
    """

    token: str | None = None
    cors_origins: tuple[str, ...] = DEFAULT_UI_ORIGINS
    allowed_hosts: tuple[str, ...] = LOOPBACK_HOSTS
    display_max_bytes: int = DEFAULT_DISPLAY_MAX_BYTES
    max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES
    max_decode_bytes: int = DEFAULT_MAX_DECODE_BYTES
    default_namespace: str = DEFAULT_NAMESPACE
    encode: EncodeMode = "claim-check"
    public_url: str | None = None
    link_ttl_seconds: int = DEFAULT_LINK_TTL_SECONDS
    driver_names: tuple[str, ...] = field(default=(DRIVER_NAME,))

    def __post_init__(self) -> None:
        if self.token is not None and (not self.token or any(c.isspace() for c in self.token)):
            raise CodecServerConfigError(f"{ENV_TOKEN} must be a non-empty string without spaces")
        object.__setattr__(self, "cors_origins", with_loopback_twins(self.cors_origins))
        hosts = tuple(h.strip().lower().strip("[]") for h in self.allowed_hosts if h.strip())
        if not hosts:
            raise CodecServerConfigError(f"allowed_hosts must name at least one host, or {ANY_HOST!r}")
        object.__setattr__(self, "allowed_hosts", hosts)
        if self.display_max_bytes < 1:
            raise CodecServerConfigError(f"display_max_bytes must be >= 1; got {self.display_max_bytes}")
        if self.max_request_bytes < 1024:
            raise CodecServerConfigError(f"max_request_bytes must be >= 1024; got {self.max_request_bytes}")
        if self.max_decode_bytes < 1:
            raise CodecServerConfigError(f"max_decode_bytes must be >= 1; got {self.max_decode_bytes}")
        if not self.default_namespace:
            raise CodecServerConfigError("default_namespace must not be empty")
        if self.encode not in ENCODE_MODES:
            raise CodecServerConfigError(
                f"encode must be one of {', '.join(ENCODE_MODES)}; got {self.encode!r}"
            )
        if self.public_url is not None:
            parts = urlsplit(self.public_url)
            if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
                raise CodecServerConfigError(f"public_url must be an http(s) URL; got {self.public_url!r}")
            object.__setattr__(self, "public_url", self.public_url.rstrip("/"))
        if self.link_ttl_seconds < 1:
            raise CodecServerConfigError(f"link_ttl_seconds must be >= 1; got {self.link_ttl_seconds}")

    @property
    def any_host(self) -> bool:
        """Whether every ``Host`` header is accepted."""
        return ANY_HOST in self.allowed_hosts

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: object) -> CodecServerOptions:
        """Options from ``CLAIM_CHECK_CODEC_*`` variables; ``overrides`` that are not ``None`` win."""
        env = os.environ if env is None else env
        values: dict[str, object] = {}
        if env.get(ENV_TOKEN):
            values["token"] = env[ENV_TOKEN]
        if env.get(ENV_CORS_ORIGINS):
            values["cors_origins"] = _split_list(env[ENV_CORS_ORIGINS])
        if env.get(ENV_ALLOWED_HOSTS):
            values["allowed_hosts"] = _split_list(env[ENV_ALLOWED_HOSTS])
        for name, var in (
            ("display_max_bytes", ENV_DISPLAY_MAX_BYTES),
            ("max_request_bytes", ENV_MAX_REQUEST_BYTES),
            ("max_decode_bytes", ENV_MAX_DECODE_BYTES),
        ):
            if env.get(var):
                try:
                    values[name] = int(env[var].replace("_", ""))
                except ValueError:
                    raise CodecServerConfigError(
                        f"{var} must be a whole number of bytes; got {env[var]!r}"
                    ) from None
        if env.get(ENV_PUBLIC_URL):
            values["public_url"] = env[ENV_PUBLIC_URL]
        if env.get(ENV_ENCODE):
            values["encode"] = env[ENV_ENCODE]
        if env.get(ENV_NAMESPACE):
            values["default_namespace"] = env[ENV_NAMESPACE]
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)  # type: ignore[arg-type] # each value was parsed for its field

    def replace(self, **changes: object) -> CodecServerOptions:
        """A copy with ``changes`` applied (and validated)."""
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type] # checked in __post_init__
