"""Configuration of the kit: one dataclass, filled from ``CLAIM_CHECK_*`` environment variables.

Every command (worker, starter, codec server, notebooks) reads the same variables, so a worker
and a starter started in two shells agree on where blobs go.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, get_args

from rag_claimcheck.claimcheck.compression import COMPRESSIONS, Compression
from rag_claimcheck.claimcheck.concurrency import DEFAULT_CONCURRENCY
from rag_claimcheck.claimcheck.keys import DEFAULT_KEY_PREFIX
from rag_claimcheck.claimcheck.offload import DEFAULT_INLINE_MAX_BYTES
from rag_claimcheck.claimcheck.vault import DEFAULT_MAX_DECOMPRESSED_BYTES

Mode = Literal["codec", "extstore", "off"]
StoreKind = Literal["file", "s3", "memory"]
MODES: tuple[Mode, ...] = get_args(Mode)
STORE_KINDS: tuple[StoreKind, ...] = get_args(StoreKind)

DEFAULT_FILE_ROOT = (
    Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "rag-claimcheck" / "blobs"
)
DEFAULT_S3_BUCKET = "rag-claimcheck"
DEFAULT_DOCUMENT_INLINE_MAX_BYTES = 8 * 1024 * 1024
"""Documents up to this many UTF-8 bytes are a workflow's argument; larger ones are stored first (8 MiB).

See :mod:`rag_claimcheck.rag.documents`: above this size, in ``codec`` and ``extstore`` modes, the
starter stores the document and the workflow carries a reference, so no workflow task handles it."""


class SettingsError(ValueError):
    """A configuration value is missing or makes no sense; the message names the variable."""


@dataclass(frozen=True)
class ClaimCheckSettings:
    """Everything that decides where large payloads go. See docs/configuration.md."""

    mode: Mode = "codec"
    store: StoreKind = "file"
    inline_max_bytes: int = DEFAULT_INLINE_MAX_BYTES
    compression: Compression = "none"
    concurrency: int = DEFAULT_CONCURRENCY
    max_decompressed_bytes: int = DEFAULT_MAX_DECOMPRESSED_BYTES
    key_prefix: str = DEFAULT_KEY_PREFIX
    file_root: Path = DEFAULT_FILE_ROOT
    s3_bucket: str = DEFAULT_S3_BUCKET
    s3_endpoint_url: str | None = None
    s3_region: str | None = None
    document_inline_max_bytes: int = DEFAULT_DOCUMENT_INLINE_MAX_BYTES

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise SettingsError(f"CLAIM_CHECK_MODE must be one of {', '.join(MODES)}; got {self.mode!r}")
        if self.store not in STORE_KINDS:
            raise SettingsError(
                f"CLAIM_CHECK_STORE must be one of {', '.join(STORE_KINDS)}; got {self.store!r}"
            )
        if self.compression not in COMPRESSIONS:
            raise SettingsError(
                f"CLAIM_CHECK_COMPRESSION must be one of {', '.join(COMPRESSIONS)}; got {self.compression!r}"
            )
        if self.inline_max_bytes < 0:
            raise SettingsError(f"CLAIM_CHECK_INLINE_MAX_BYTES must be >= 0; got {self.inline_max_bytes}")
        if self.document_inline_max_bytes < 0:
            raise SettingsError(
                f"CLAIM_CHECK_DOCUMENT_INLINE_MAX_BYTES must be >= 0; got {self.document_inline_max_bytes}"
            )
        if self.concurrency < 1:
            raise SettingsError(f"CLAIM_CHECK_CONCURRENCY must be >= 1; got {self.concurrency}")
        if self.max_decompressed_bytes < 1:
            raise SettingsError(
                f"CLAIM_CHECK_MAX_DECOMPRESSED_BYTES must be >= 1; got {self.max_decompressed_bytes}"
            )
        if not self.s3_bucket:
            raise SettingsError("CLAIM_CHECK_S3_BUCKET must not be empty")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: object) -> ClaimCheckSettings:
        """Read ``CLAIM_CHECK_*`` variables from ``env`` (default ``os.environ``); ``overrides`` win.

        Overrides whose value is ``None`` are ignored, so command-line flags can be passed through.
        """
        env = os.environ if env is None else env
        values: dict[str, object] = {}
        for f in dataclasses.fields(cls):
            raw = env.get(f"CLAIM_CHECK_{f.name.upper()}")
            if raw is None or raw == "":
                continue
            values[f.name] = _parse(f.name, raw)
        values.update({k: v for k, v in overrides.items() if v is not None})
        if "file_root" in values:
            values["file_root"] = Path(str(values["file_root"])).expanduser()
        return cls(**values)  # type: ignore[arg-type] # each value was parsed for its field


_INT_FIELDS = frozenset(
    {"inline_max_bytes", "concurrency", "max_decompressed_bytes", "document_inline_max_bytes"}
)


def _parse(name: str, raw: str) -> object:
    if name in _INT_FIELDS:
        try:
            return int(raw.replace("_", ""))
        except ValueError:
            raise SettingsError(
                f"CLAIM_CHECK_{name.upper()} must be a whole number of bytes; got {raw!r}"
            ) from None
    return raw
